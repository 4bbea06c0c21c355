/**
 * The audit log on a real database: events written through recordAudit verify as an intact chain
 * whatever their snapshots hold; the append-only trigger refuses UPDATE, DELETE and TRUNCATE; a DBA
 * who switches the trigger off and edits or deletes rows is caught by verifyAuditChain; concurrent
 * writers get gap-free sequence numbers; and an event exists exactly when its change does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor, type Actor } from "../../server/audit/actor.ts";
import { toStoredJson } from "../../server/audit/chain.ts";
import { recordAudit, type AuditEntry } from "../../server/audit/record.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { rejection } from "../helpers/rejection.ts";

const ACTOR: Actor = {
  userId: "user-ada",
  email: "ada@example.test",
  roles: ["admin", "auditor"],
  ip: "10.0.0.7",
  traceId: "0af7651916cd43dd8448eb211c80319c",
};

/** Twenty snapshots covering what JSONB has to hand back exactly for the hashes to match. */
const ENTRIES: AuditEntry[] = [
  {
    action: "user.created",
    entityType: "User",
    entityId: "u-1",
    after: { email: "a@example.test", roles: ["viewer"], active: true },
  },
  { action: "user.updated", entityType: "User", entityId: "u-1", before: { name: "Old" }, after: { name: "New" } },
  {
    action: "nested.deep",
    entityType: "Thing",
    entityId: "t-1",
    after: { a: { b: { c: { d: { e: { f: { g: { h: ["deep", { i: 1 }] } } } } } } } },
  },
  {
    action: "keys.order",
    entityType: "Thing",
    entityId: "t-2",
    before: { z: 1, a: 2, m: { y: 1, b: 2 } },
    after: { a: 2, z: 1, m: { b: 2, y: 1 } },
  },
  {
    action: "unicode.text",
    entityType: "Thing",
    entityId: "ü-ñ-😀",
    after: { s: "Grüße, 日本語, مرحبا, emoji 😀👍🏽, combining é, zero-width \u200b, line sep \u2028" },
  },
  {
    action: "unicode.keys",
    entityType: "Thing",
    entityId: null,
    after: { ключ: 1, "😀": [2], "": "empty key", "a.b": "dotted", "with space": true },
  },
  {
    action: "release.edited",
    entityType: "Release",
    entityId: "r-7",
    before: { version: "1.2.3", notes: "first" },
    after: { version: "1.2.4", notes: 'quotes " backslash \\ tab \t newline \n cr \r' },
  },
  {
    action: "numbers.small",
    entityType: "Thing",
    entityId: "n-1",
    after: { zero: 0, negZero: -0, one: 1, neg: -42, half: 0.5, tiny: 1e-7, sum: 0.1 + 0.2, third: 1 / 3 },
  },
  {
    action: "numbers.large",
    entityType: "Thing",
    entityId: "n-2",
    after: {
      safe: Number.MAX_SAFE_INTEGER,
      unsafe: 2 ** 64,
      big: 1e21,
      huge: 1.7976931348623157e308,
      min: 5e-324,
      negBig: -9.87654321e200,
    },
  },
  {
    action: "numbers.odd",
    entityType: "Thing",
    entityId: "n-3",
    after: { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, bigint: 123456789012345678901234567890n },
  },
  {
    action: "dates",
    entityType: "Thing",
    entityId: "d-1",
    before: { at: new Date("1999-12-31T23:59:59.999Z") },
    after: { at: new Date("2026-06-01T12:00:00.001Z"), list: [new Date(0)], text: "2026-06-01T12:00:00.001Z" },
  },
  {
    action: "nulls",
    entityType: "Thing",
    entityId: "x-1",
    before: null,
    after: { a: null, b: [null, null], c: { d: null }, e: undefined },
  },
  {
    action: "release.deleted",
    entityType: "Release",
    entityId: "r-8",
    before: { version: "9.9.9", tags: ["a", "b"] },
    after: null,
  },
  { action: "nothing", entityType: "Thing", entityId: "x-2" },
  {
    action: "arrays",
    entityType: "Thing",
    entityId: "x-3",
    after: [[], {}, [[1, [2, [3]]]], [{ b: 1, a: 2 }], "string", 7, false],
  },
  { action: "top.string", entityType: "Thing", entityId: "x-4", before: "just a string", after: "another 😀" },
  { action: "top.number", entityType: "Thing", entityId: "x-5", before: 0, after: 3.25 },
  { action: "top.boolean", entityType: "Thing", entityId: "x-6", before: false, after: true },
  {
    action: "large",
    entityType: "Thing",
    entityId: "x-7",
    after: { items: Array.from({ length: 500 }, (_, i) => ({ i, label: `item ${i}`, even: i % 2 === 0 })) },
  },
  { action: "empty", entityType: "Thing", entityId: "x-8", before: {}, after: [] },
];

async function writeEvents(prisma: PrismaClient, entries: AuditEntry[], actor: Actor = ACTOR) {
  const written: { seq: number; hash: string }[] = [];
  for (const entry of entries) written.push(await prisma.$transaction((tx) => recordAudit(tx, actor, entry)));
  return written;
}

const head = async (prisma: PrismaClient) => {
  const row = await prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
  return { seq: Number(row.seq), hash: row.hash };
};

// The tests of this block build on each other, in order: 20 events, then refused edits, then tampering.
describe("the audit log on a real database", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  it("stores events with every kind of snapshot so that the chain verifies", async () => {
    const written = await writeEvents(db.prisma, ENTRIES.slice(0, 15));
    // Some from the panel itself: no user, no roles, no address.
    written.push(...(await writeEvents(db.prisma, ENTRIES.slice(15), systemActor("trace-system"))));
    expect(written.map((w) => w.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await head(db.prisma)).toEqual(written[19]);

    const result = await verifyAuditChain(db.prisma);
    expect(result).toMatchObject({ ok: true, checked: 20, lastSeq: 20 });

    // What the database hands back is what was hashed: plain JSON, with undefined and null as NULL.
    const rows = await db.prisma.auditEvent.findMany({ orderBy: { seq: "asc" } });
    expect(rows.map((r) => ({ seq: Number(r.seq), before: r.before, after: r.after }))).toEqual(
      ENTRIES.map((e, i) => ({ seq: i + 1, before: toStoredJson(e.before), after: toStoredJson(e.after) })),
    );
    expect(rows[7]!.after).toMatchObject({ negZero: 0, sum: 0.30000000000000004 });
    expect(rows[9]!.after).toEqual({ nan: null, inf: null, bigint: "123456789012345678901234567890" });
    expect(rows[10]!.after).toEqual({
      at: "2026-06-01T12:00:00.001Z",
      list: ["1970-01-01T00:00:00.000Z"],
      text: "2026-06-01T12:00:00.001Z",
    });
    expect(rows[0]).toMatchObject({
      actorId: ACTOR.userId,
      actorEmail: ACTOR.email,
      actorRoles: ACTOR.roles,
      ip: ACTOR.ip,
      traceId: ACTOR.traceId,
      prevHash: "0".repeat(64),
    });
    expect(rows[19]).toMatchObject({
      actorId: null,
      actorEmail: "system",
      actorRoles: [],
      ip: null,
      traceId: "trace-system",
    });
  });

  it("refuses UPDATE, DELETE and TRUNCATE of audit rows (append-only trigger), and the chain stays intact", async () => {
    const before = await head(db.prisma);
    expect(
      await rejection(db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "action" = 'forged' WHERE seq = 3`)),
    ).toMatch(/append-only \(UPDATE refused\)/);
    expect(await rejection(db.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 4`))).toMatch(
      /append-only \(DELETE refused\)/,
    );
    expect(await rejection(db.prisma.$executeRawUnsafe(`TRUNCATE "AuditEvent"`))).toMatch(
      /append-only \(TRUNCATE refused\)/,
    );
    // Through Prisma's own API too.
    expect(await rejection(db.prisma.auditEvent.update({ where: { seq: 3n }, data: { action: "forged" } }))).toMatch(
      /append-only/,
    );
    expect(await rejection(db.prisma.auditEvent.deleteMany({}))).toMatch(/append-only/);

    expect(await db.prisma.auditEvent.count()).toBe(20);
    expect((await db.prisma.auditEvent.findUniqueOrThrow({ where: { seq: 3n } })).action).toBe("nested.deep");
    expect(await head(db.prisma)).toEqual(before);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, checked: 20 });
  });

  it("keeps the chain head moving forward only, to a stored event (moving it back would hide the newest events)", async () => {
    const before = await head(db.prisma);
    expect(
      await rejection(db.prisma.$executeRawUnsafe(`UPDATE "AuditChainHead" SET seq = seq - 1 WHERE id = 1`)),
    ).toMatch(/only moves forward/);
    expect(
      await rejection(
        db.prisma.$executeRawUnsafe(`UPDATE "AuditChainHead" SET seq = seq + 1, hash = 'forged' WHERE id = 1`),
      ),
    ).toMatch(/must name a stored event/);
    expect(await rejection(db.prisma.$executeRawUnsafe(`DELETE FROM "AuditChainHead"`))).toMatch(/never removed/);
    expect(await rejection(db.prisma.$executeRawUnsafe(`TRUNCATE "AuditChainHead"`))).toMatch(/never removed/);
    expect(await head(db.prisma)).toEqual(before);
  });

  it("catches a DBA who disables the trigger, edits one event and deletes another", async () => {
    const before = await head(db.prisma);
    await db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`);
      expect(
        await tx.$executeRawUnsafe(
          `UPDATE "AuditEvent" SET "after" = jsonb_set("after", '{notes}', '"rewritten"') WHERE seq = 7`,
        ),
      ).toBe(1);
      expect(await tx.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 13`)).toBe(1);
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`);
    });
    expect((await db.prisma.auditEvent.findUniqueOrThrow({ where: { seq: 7n } })).after).toMatchObject({
      notes: "rewritten",
    });

    const result = await verifyAuditChain(db.prisma);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.firstBrokenSeq).toBe(7);
    expect(result.checked).toBe(19);
    expect(result.breaks.map(({ seq, kind }) => ({ seq, kind }))).toEqual([
      { seq: 7, kind: "altered" },
      { seq: 13, kind: "missing" },
    ]);
    expect(result.breaks.map((b) => b.detail)).toEqual([
      expect.stringMatching(/event 7 .*changed/),
      "event 13 is missing",
    ]);
    expect(await head(db.prisma)).toEqual(before);

    // The trigger is back on.
    expect(await rejection(db.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 20`))).toMatch(
      /append-only/,
    );
  });

  it("catches the newest event being cut, through the chain head", async () => {
    await db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`);
      await tx.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq >= 19`);
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`);
    });
    const result = await verifyAuditChain(db.prisma);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.breaks.map(({ seq, kind, detail }) => ({ seq, kind, detail }))).toEqual([
      { seq: 7, kind: "altered", detail: expect.any(String) },
      { seq: 13, kind: "missing", detail: "event 13 is missing" },
      { seq: 19, kind: "missing", detail: "events 19–20 are missing" },
    ]);
  });
});

describe("writing audit events", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  it("gives 20 concurrent transactions the sequence numbers 1..20, with no gap, no duplicate and an intact chain", async () => {
    const N = 20;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        db.prisma.$transaction(async (tx) => {
          // Some work of the transaction's own before it appends, so the writers overlap.
          const user = await tx.user.create({
            data: { email: `concurrent-${i}@example.test`, name: `Concurrent ${i}`, roles: ["viewer"] },
          });
          return recordAudit(
            tx,
            { ...ACTOR, traceId: `trace-${i}` },
            { action: "user.created", entityType: "User", entityId: user.id, after: { i, email: user.email } },
          );
        }),
      ),
    );
    const seqs = results.map((r) => r.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.hash)).size).toBe(N);

    const rows = await db.prisma.auditEvent.findMany({ orderBy: { seq: "asc" } });
    expect(rows.map((r) => Number(r.seq))).toEqual(seqs);
    // Each event links to the one before it.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    expect(new Set(rows.map((r) => r.traceId)).size).toBe(N);
    expect(await head(db.prisma)).toEqual({ seq: N, hash: rows[N - 1]!.hash });
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, checked: N, lastSeq: N });
    expect(await db.prisma.user.count()).toBe(N);
  });

  it("records the event in the change's own transaction: when the transaction fails, neither is kept", async () => {
    const before = await head(db.prisma);
    const events = await db.prisma.auditEvent.count();
    const email = "rolled-back@example.test";
    let recorded: { seq: number; hash: string } | undefined;
    await expect(
      db.prisma.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { email, name: "Rolled Back", roles: ["viewer"] } });
        recorded = await recordAudit(tx, ACTOR, {
          action: "user.created",
          entityType: "User",
          entityId: user.id,
          after: { email },
        });
        // Inside the transaction, both exist.
        expect(await tx.auditEvent.count({ where: { entityId: user.id } })).toBe(1);
        throw new Error("something failed after the audit event was written");
      }),
    ).rejects.toThrow(/something failed after the audit event/);
    expect(recorded?.seq).toBe(before.seq + 1);

    expect(await db.prisma.user.count({ where: { email } })).toBe(0);
    expect(await db.prisma.auditEvent.count()).toBe(events);
    expect(await db.prisma.auditEvent.findUnique({ where: { seq: BigInt(before.seq + 1) } })).toBeNull();
    expect(await head(db.prisma)).toEqual(before);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, checked: events });

    // The next event takes the sequence number the rolled-back one had, so the chain has no gap.
    const next = await db.prisma.$transaction((tx) =>
      recordAudit(tx, ACTOR, { action: "after.rollback", entityType: "Thing" }),
    );
    expect(next.seq).toBe(before.seq + 1);
    expect(next.hash).not.toBe(recorded?.hash);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, checked: events + 1 });
  });

  it("keeps neither the change nor the event when the event itself cannot be stored", async () => {
    const before = await head(db.prisma);
    const email = "nul-character@example.test";
    // PostgreSQL's JSONB cannot hold a NUL character: the audit write fails, and takes the change with it.
    await expect(
      db.prisma.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { email, name: "Nul", roles: ["viewer"] } });
        await recordAudit(tx, ACTOR, {
          action: "user.created",
          entityType: "User",
          entityId: user.id,
          after: { note: "a\u0000b" },
        });
      }),
    ).rejects.toThrow();
    expect(await db.prisma.user.count({ where: { email } })).toBe(0);
    expect(await head(db.prisma)).toEqual(before);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, checked: before.seq });
  });

  it("stores unpaired surrogates (which UTF-8 cannot hold) as U+FFFD, hashed as stored, so the event verifies", async () => {
    // JSON input can carry them ("\ud800"); the driver writes text as UTF-8, and JSONB refuses them.
    const before = await head(db.prisma);
    const actor: Actor = {
      userId: "user-\uD800",
      email: "odd\uDC00@example.test",
      roles: ["viewer", "x\uD800"],
      ip: "10.0.0.1",
      traceId: "t\uDFFF",
    };
    const written = await db.prisma.$transaction((tx) =>
      recordAudit(tx, actor, {
        action: "odd.\uD800",
        entityType: "Thing\uDC00",
        entityId: "v1.0\uD800",
        before: { ["k\uD800"]: "old" },
        after: { notes: ["a\uDC00b", "😀"] },
      }),
    );
    expect(written.seq).toBe(before.seq + 1);
    const row = await db.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(written.seq) } });
    expect(row).toMatchObject({
      actorId: "user-\uFFFD",
      actorEmail: "odd\uFFFD@example.test",
      actorRoles: ["viewer", "x\uFFFD"],
      traceId: "t\uFFFD",
      action: "odd.\uFFFD",
      entityType: "Thing\uFFFD",
      entityId: "v1.0\uFFFD",
      before: { ["k\uFFFD"]: "old" },
      after: { notes: ["a\uFFFDb", "😀"] },
    });
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, checked: written.seq });
  });
});
