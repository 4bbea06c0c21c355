/**
 * Ticking several checklist items at once (issue 12 §11): one note for all, all or none, and each
 * item audited on its own in the same transaction as its tick.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tickMany } from "../../server/governance/checklist.ts";
import { checklistFor } from "../../server/governance/checklist.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
let input: { releaseId: string; environmentId: string };
let actor: { userId: string; email: string; roles: string[]; ip: null; traceId: null };

beforeAll(async () => {
  db = await openTestDatabase();
  const user = await db.prisma.user.create({ data: { email: "rm@example.test", name: "Rita Manager" } });
  actor = { userId: user.id, email: user.email, roles: ["release_manager"], ip: null, traceId: null };
  const service = await db.prisma.service.create({ data: { slug: "bulk", name: "Bulk" } });
  const release = await db.prisma.release.create({
    data: { serviceId: service.id, version: "2.0.0", artifact: "demo:2.0.0" },
  });
  const env = await db.prisma.environment.create({
    data: { serviceId: service.id, name: "production", position: 0, production: true, policy: {}, alertThresholds: {} },
  });
  input = { releaseId: release.id, environmentId: env.id };
});

afterAll(() => db?.close());

const audited = () => db.prisma.auditEvent.findMany({ where: { action: "checklist.ticked" } });

describe("ticking several checklist items at once", () => {
  it("ticks each named manual item with the one note, and audits each", async () => {
    await tickMany(db.prisma, actor, {
      ...input,
      keys: ["code_review", "documentation", "rollback_plan"],
      note: "checked in the review meeting",
    });
    const items = await checklistFor(db.prisma, input.releaseId, input.environmentId);
    const done = items.filter((i) => i.done).map((i) => i.key);
    expect(done.sort()).toEqual(["code_review", "documentation", "rollback_plan"]);
    expect(items.find((i) => i.key === "documentation")).toMatchObject({
      note: "checked in the review meeting",
      completedBy: { name: "Rita Manager" },
    });
    expect((await audited()).map((a) => (a.after as { key: string }).key).sort()).toEqual([
      "code_review",
      "documentation",
      "rollback_plan",
    ]);
  });

  it("ticks none when one of them may not be ticked by hand (an automatic item), and audits none", async () => {
    await expect(
      tickMany(db.prisma, actor, { ...input, keys: ["feature_flags", "security_scan"], note: "all good" }),
    ).rejects.toThrow(/completed by evidence from CI/);
    const items = await checklistFor(db.prisma, input.releaseId, input.environmentId);
    expect(items.find((i) => i.key === "feature_flags")!.done).toBe(false);
    expect(await audited()).toHaveLength(3);
  });

  it("refuses another service's release, naming it and the field, and ticks nothing", async () => {
    const other = await db.prisma.service.create({ data: { slug: "other", name: "Other" } });
    const foreign = await db.prisma.release.create({
      data: { serviceId: other.id, version: "9.9.9", artifact: "demo:9.9.9" },
    });
    const refused = tickMany(db.prisma, actor, {
      ...input,
      releaseId: foreign.id,
      keys: ["feature_flags"],
      note: "checked",
    });
    await expect(refused).rejects.toMatchObject({
      field: "releaseId",
      message: "Release 9.9.9 belongs to another service than Bulk",
    });
    expect(await audited()).toHaveLength(3);
  });

  it("needs a note or a link, as a single tick does", async () => {
    await expect(tickMany(db.prisma, actor, { ...input, keys: ["feature_flags"] })).rejects.toThrow(/note/);
  });
});
