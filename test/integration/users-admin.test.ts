import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { trpcMutation } from "../helpers/trpc.ts";

let t: TestPanel;
beforeAll(async () => {
  t = await startTestPanel();
});
afterAll(() => t?.close());

describe("administrators", () => {
  it("cannot demote each other at the same moment and leave the panel without one", async () => {
    const a = await t.createUser(["admin"]);
    const b = await t.createUser(["admin"]);
    // Only a and b are administrators in this panel.
    const results = await Promise.all([
      trpcMutation(t.url, "users.update", { id: b.id, roles: ["viewer"] }, a.cookie),
      trpcMutation(t.url, "users.update", { id: a.id, roles: ["viewer"] }, b.cookie),
    ]);
    const statuses = results.map((r) => r.status).sort();
    // Whoever goes second is either refused as the last admin, or no longer an admin at all.
    expect(statuses[0]).toBe(200);
    expect([403, 412]).toContain(statuses[1]);
    expect(await t.prisma.user.count({ where: { active: true, roles: { has: "admin" } } })).toBe(1);
  });
});

describe("text input", () => {
  it("refuses NUL characters with a 400 naming the field, and stores nothing", async () => {
    const admin = await t.createUser(["admin"]);
    const response = await trpcMutation(t.url, "users.create", { email: "nul@example.test", name: "Bad\u0000Name", roles: ["viewer"] }, admin.cookie);
    expect(response.status).toBe(400);
    expect(response.error?.message).toBe("name: must not contain a NUL character");
    expect(response.error?.data.field).toBe("name");
    expect(await t.prisma.user.count({ where: { email: "nul@example.test" } })).toBe(0);
  });
});
