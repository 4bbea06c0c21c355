/**
 * Retention on PostgreSQL with two panel instances (two connection pools on one database): both run
 * the purge at once while people keep writing and an auditor verifies. One purge deletes the events
 * past retention, the other finds nothing left; there is one anchor and one audit.purged event; no
 * write is lost; verification, even while the purge runs, never reports a break that is not there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendSyntheticEvents } from "../../bench/audit.ts";
import type { Actor } from "../../server/audit/actor.ts";
import { recordAudit } from "../../server/audit/record.ts";
import { purgeAuditEvents, RETENTION_DAYS } from "../../server/audit/retention.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { openDatabase, type Database } from "../../server/db/open.ts";
import { openTestDatabase, testBackend, type TestDatabase } from "../helpers/database.ts";

const DAY = 24 * 3600 * 1000;
const OLD = 3000;
const actor = (i: number): Actor => ({
  userId: `writer-${i}`,
  email: `writer${i}@example.test`,
  roles: ["release_manager"],
  ip: "10.1.1.1",
  traceId: `w-${i}`,
});

describe.runIf(testBackend() === "postgres")("retention with two instances", () => {
  let a: TestDatabase;
  let b: Database;
  beforeAll(async () => {
    a = await openTestDatabase();
    b = await openDatabase({ kind: "postgres", url: a.url! });
    await appendSyntheticEvents(a.prisma, OLD, {
      from: new Date(Date.now() - 3 * 365 * DAY),
      to: new Date(Date.now() - 2.5 * 365 * DAY),
    });
    await appendSyntheticEvents(a.prisma, 200, {
      from: new Date(Date.now() - 30 * DAY),
      to: new Date(Date.now() - DAY),
    });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("purges once, loses no write, and verifies throughout", async () => {
    const olderThan = new Date(Date.now() - RETENTION_DAYS * DAY);
    const before = await a.prisma.auditEvent.count();
    const writers = Array.from({ length: 30 }, (_, i) =>
      (i % 2 ? a : b).prisma.$transaction((tx) =>
        recordAudit(tx, actor(i), { action: "concurrent.write", entityType: "Thing", entityId: `w-${i}` }),
      ),
    );
    const [first, second, verification] = await Promise.all([
      purgeAuditEvents(a.prisma, { olderThan }),
      purgeAuditEvents(b.prisma, { olderThan }),
      verifyAuditChain(b.prisma),
      ...writers,
    ]);

    expect([first.purged, second.purged].sort((x, y) => x - y)).toEqual([0, OLD]);
    expect(verification.ok, JSON.stringify(verification)).toBe(true);
    expect(await a.prisma.auditAnchor.count()).toBe(1);
    expect(await a.prisma.auditEvent.count({ where: { action: "audit.purged" } })).toBe(1);
    expect(await a.prisma.auditEvent.count({ where: { action: "concurrent.write" } })).toBe(30);
    expect(await a.prisma.auditEvent.count()).toBe(before - OLD + 30 + 1);
    const seqs = (await a.prisma.auditEvent.findMany({ select: { seq: true }, orderBy: { seq: "asc" } })).map((r) =>
      Number(r.seq),
    );
    expect(seqs[0]).toBe(OLD + 1);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => OLD + 1 + i));
    expect(await verifyAuditChain(a.prisma)).toMatchObject({ ok: true, anchor: { seq: OLD } });
  });
});
