/**
 * Ten identical creates at once (issue 10, Low 7). Each checks "does it exist?" before creating, and
 * on PostgreSQL several can find it free at the same moment: the database's unique constraint refuses
 * all but one. Those refusals are conflicts the caller can act on (409 naming the field), never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldWords } from "../../server/field-words.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { answer, type Answer } from "../helpers/panel-client.ts";

let t: TestPanel;
let admin: TestUser;
let rm: TestUser;
let serviceId: string;
let environmentId: string;

beforeAll(async () => {
  t = await startTestPanel();
  admin = await t.createUser(["admin"]);
  rm = await t.createUser(["release_manager", "admin"]);
  serviceId = (await rm.client.services.create.mutate({ name: "Ledger", environments: ["staging"] })).id;
  environmentId = (await t.prisma.environment.findFirstOrThrow({ where: { serviceId } })).id;
});
afterAll(() => t?.close());

/** Ten at once; every answer is a success or a 409 that names the field, in words for people and by name for machines. */
async function tenAtOnce(call: () => Promise<unknown>, field: string) {
  const results: Answer<unknown>[] = await Promise.all(Array.from({ length: 10 }, () => answer(call())));
  const statuses = results.map((r) => r.status);
  expect(
    statuses.filter((s) => s >= 500),
    JSON.stringify(results.filter((r) => r.status >= 500)),
  ).toEqual([]);
  expect(statuses).toContain(200);
  for (const refused of results.filter((r) => r.status !== 200)) {
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(new RegExp(`\\b${fieldWords(field)}\\b`, "i"));
    expect(refused.field).toBe(field);
  }
  return statuses;
}

describe("ten identical creates at once", () => {
  it("users.create: one user, the others 409 naming email", async () => {
    const statuses = await tenAtOnce(
      () => admin.client.users.create.mutate({ email: "twin@example.test", name: "Twin", roles: ["viewer"] }),
      "email",
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(await t.prisma.user.count({ where: { email: "twin@example.test" } })).toBe(1);
  });

  it("services.create: one service, the others 409 naming slug", async () => {
    const statuses = await tenAtOnce(
      () => rm.client.services.create.mutate({ name: "Payments", slug: "payments", environments: ["staging"] }),
      "slug",
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(await t.prisma.service.count({ where: { slug: "payments" } })).toBe(1);
  });

  it("releases.create: one release, the others 409 naming the version", async () => {
    const statuses = await tenAtOnce(
      () => rm.client.releases.create.mutate({ serviceId, version: "9.9.9", artifact: "ledger:9.9.9" }),
      "version",
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(await t.prisma.release.count({ where: { serviceId, version: "9.9.9" } })).toBe(1);
  });

  it("checklist.updateTemplate: the template is set once, never a 500", async () => {
    const items = [{ key: "tests_passing", title: "Tests pass", kind: "automatic" as const, required: true }];
    await tenAtOnce(() => rm.client.checklist.updateTemplate.mutate({ environmentId, items }), "key");
    expect(await t.prisma.checklistTemplateItem.count({ where: { environmentId } })).toBe(1);
  });

  it("me.setSubscription: subscribing ten times at once is subscribing once", async () => {
    const statuses = await tenAtOnce(
      () => rm.client.me.setSubscription.mutate({ topic: "incidents", subscribed: true }),
      "topic",
    );
    expect(statuses).toEqual(Array(10).fill(200));
    expect(await t.prisma.notificationSubscription.count({ where: { userId: rm.id, topic: "incidents" } })).toBe(1);
  });
});
