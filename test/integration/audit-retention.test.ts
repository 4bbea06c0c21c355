/**
 * Verification over REST and retention, on a real database. GET /api/v1/audit/verify reports an
 * intact chain, or the first broken event and every break. The retention purge removes events older
 * than two years in one transaction (the only kind the append-only trigger lets delete), leaves an
 * anchor where verification now starts, and records itself in the chain; the rest still verifies,
 * tampering after the purge is still caught, and an anchor that was altered, deleted or forged is
 * reported as such. A purge never anchors a segment that does not verify, never reaches into the two
 * years, and nothing else can delete.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendSyntheticEvents } from "../../bench/audit.ts";
import { systemActor } from "../../server/audit/actor.ts";
import { recordAudit } from "../../server/audit/record.ts";
import {
  AuditPurgeRefused,
  purgeAuditEvents,
  RETENTION_DAYS,
  startAuditRetention,
} from "../../server/audit/retention.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { logCapture, startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { waitFor } from "../helpers/wait.ts";
import pino from "pino";
import { rejection } from "../helpers/rejection.ts";

const DAY = 24 * 3600 * 1000;
const NOW = Date.now();
const TWO_YEARS_AGO = new Date(NOW - RETENTION_DAYS * DAY);
/** The first purge's cut-off: past retention, between the oldest events and the next ten. */
const FIRST_CUT = new Date(NOW - 2.45 * 365 * DAY);

/** What a DBA with the trigger switched off can do: run statements on the audit tables. */
async function asDba(prisma: PrismaClient, ...statements: string[]) {
  await prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`);
    await tx.$executeRawUnsafe(`ALTER TABLE "AuditAnchor" DISABLE TRIGGER USER`);
    for (const sql of statements) await tx.$executeRawUnsafe(sql);
    await tx.$executeRawUnsafe(`ALTER TABLE "AuditAnchor" ENABLE TRIGGER USER`);
    await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`);
  });
}

/** A row as SQL that puts it back exactly (to undo a DBA's deletion). */
async function rowAsInsert(prisma: PrismaClient, table: "AuditEvent" | "AuditAnchor", where: string): Promise<string> {
  const [row] = await prisma.$queryRawUnsafe<{ json: string }[]>(
    `SELECT row_to_json(t)::text AS json FROM "${table}" t WHERE ${where}`,
  );
  if (!row) throw new Error(`no ${table} row where ${where}`);
  return `INSERT INTO "${table}" SELECT * FROM json_populate_record(NULL::"${table}", '${row.json.replace(/'/g, "''")}'::json)`;
}

let t: TestPanel;
let auditor: TestUser;
let viewer: TestUser;
/**
 * Events 1..40 are from three to two and a half years ago; 41..50 from 2.4 to 2.2 years ago (past
 * retention too, for a later purge: the database judges retention by its own clock); then today's.
 */
const OLD = 40;

const verifyOverHttp = async (cookie = auditor.cookie) => {
  const response = await fetch(`${t.url}/api/v1/audit/verify`, { headers: { Cookie: cookie } });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & {
      breaks?: { seq: number; kind: string; detail: string }[];
    },
  };
};

beforeAll(async () => {
  t = await startTestPanel();
  // The oldest events first, as the log would have them.
  await appendSyntheticEvents(t.prisma, OLD, {
    from: new Date(NOW - 3 * 365 * DAY),
    to: new Date(NOW - 2.5 * 365 * DAY),
  });
  await appendSyntheticEvents(t.prisma, 10, {
    from: new Date(NOW - 2.4 * 365 * DAY),
    to: new Date(NOW - 2.2 * 365 * DAY),
  });
  auditor = await t.createUser(["auditor"]);
  viewer = await t.createUser(["viewer"]);
});
afterAll(() => t?.close());

describe("GET /api/v1/audit/verify", () => {
  it("reports an intact chain", async () => {
    const { status, body } = await verifyOverHttp();
    expect(status).toBe(200);
    const head = Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
    expect(body).toMatchObject({ status: "intact", ok: true, checked: head, lastSeq: head, anchor: null });
    expect(new Date(body.verifiedAt as string).getTime()).toBeGreaterThan(NOW - 60_000);
  });

  it("names the first broken event, and every break, after a DBA edits one event and deletes another", async () => {
    const restore = await rowAsInsert(t.prisma, "AuditEvent", "seq = 45");
    const [original] = await t.prisma.$queryRawUnsafe<{ after: string }[]>(
      `SELECT "after"::text AS after FROM "AuditEvent" WHERE seq = 12`,
    );
    await asDba(
      t.prisma,
      `UPDATE "AuditEvent" SET "after" = '{"forged": true}' WHERE seq = 12`,
      `DELETE FROM "AuditEvent" WHERE seq = 45`,
    );
    const { status, body } = await verifyOverHttp();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "broken", ok: false, firstBrokenSeq: 12 });
    expect(body.breaks!.map(({ seq, kind }) => ({ seq, kind }))).toEqual([
      { seq: 12, kind: "altered" },
      { seq: 45, kind: "missing" },
    ]);
    expect(body.breaks![1]!.detail).toBe("event 45 is missing");
    // Put back as it was: intact again.
    await asDba(
      t.prisma,
      `UPDATE "AuditEvent" SET "after" = '${original!.after.replace(/'/g, "''")}' WHERE seq = 12`,
      restore,
    );
    expect((await verifyOverHttp()).body).toMatchObject({ status: "intact" });
  });

  it("is for auditors and administrators: 401 without a session, 403 (audited) for a viewer", async () => {
    expect((await fetch(`${t.url}/api/v1/audit/verify`)).status).toBe(401);
    const before = Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
    const { status, body } = await verifyOverHttp(viewer.cookie);
    expect(status).toBe(403);
    expect(body).toEqual({ error: "GET /api/v1/audit/verify is for auditor, admin; you are viewer" });
    const events = await t.prisma.auditEvent.findMany({ where: { seq: { gt: BigInt(before) } } });
    expect(events.map((e) => [e.action, e.entityType, e.entityId, e.actorId])).toEqual([
      ["auth.forbidden", "Route", "GET /api/v1/audit/verify", viewer.id],
    ]);
  });
});

describe("the retention purge", () => {
  it("is refused by the database outside its escape hatch, and the hatch does not outlive its transaction", async () => {
    expect(await rejection(t.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 1`))).toMatch(
      /append-only \(DELETE refused\)/,
    );
    // Switched on and rolled back: gone with the transaction.
    await expect(
      t.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL greenlight.audit_retention = 'on'`);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await rejection(t.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 1`))).toMatch(
      /append-only/,
    );
    // Switched on for a transaction that commits: still only for that transaction.
    await t.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SET LOCAL greenlight.audit_retention = 'on'`);
    });
    expect(await rejection(t.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 1`))).toMatch(
      /append-only/,
    );
    // Anything but 'on' is no key; and the hatch never allows edits.
    expect(
      await rejection(
        t.prisma.$transaction(async (tx) => {
          await tx.$executeRawUnsafe(`SET LOCAL greenlight.audit_retention = 'yes'`);
          await tx.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq = 1`);
        }),
      ),
    ).toMatch(/append-only \(DELETE refused\)/);
    expect(
      await rejection(
        t.prisma.$transaction(async (tx) => {
          await tx.$executeRawUnsafe(`SET LOCAL greenlight.audit_retention = 'on'`);
          await tx.$executeRawUnsafe(`UPDATE "AuditEvent" SET action = 'forged' WHERE seq = 1`);
        }),
      ),
    ).toMatch(/append-only \(UPDATE refused\)/);
    expect(await t.prisma.auditEvent.count({ where: { seq: 1n } })).toBe(1);
  });

  it("refuses to reach into the two years an event is kept", async () => {
    const before = Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
    const tooRecent = new Date(TWO_YEARS_AGO.getTime() + DAY);
    await expect(purgeAuditEvents(t.prisma, { olderThan: tooRecent })).rejects.toThrow(AuditPurgeRefused);
    await expect(purgeAuditEvents(t.prisma, { olderThan: new Date(NOW) })).rejects.toThrow(
      /^Audit events are kept for 730 days; the purge's cut-off \(older than\) must be /,
    );
    await expect(purgeAuditEvents(t.prisma, { olderThan: new Date("not a date") })).rejects.toThrow(
      "The purge's cut-off (older than) must be a date",
    );
    expect(await t.prisma.auditEvent.count()).toBe(before);
    expect(await t.prisma.auditAnchor.count()).toBe(0);
  });

  it("does not anchor events that do not verify: it keeps them as evidence and records the refusal", async () => {
    const [original] = await t.prisma.$queryRawUnsafe<{ action: string }[]>(
      `SELECT action FROM "AuditEvent" WHERE seq = 7`,
    );
    await asDba(t.prisma, `UPDATE "AuditEvent" SET action = 'forged' WHERE seq = 7`);
    const before = Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
    await expect(purgeAuditEvents(t.prisma, { olderThan: FIRST_CUT })).rejects.toThrow(
      /do not verify, so they are kept as evidence: 7 altered/,
    );
    expect(await t.prisma.auditEvent.count({ where: { seq: { lte: BigInt(OLD) } } })).toBe(OLD);
    expect(await t.prisma.auditAnchor.count()).toBe(0);
    const refusal = await t.prisma.auditEvent.findMany({ where: { seq: { gt: BigInt(before) } } });
    expect(refusal).toMatchObject([
      {
        action: "audit.purge_refused",
        actorEmail: "system",
        after: { fromSeq: 1, throughSeq: OLD, breaks: [expect.stringMatching(/^7 altered/)] },
      },
    ]);
    await asDba(t.prisma, `UPDATE "AuditEvent" SET action = '${original!.action}' WHERE seq = 7`);
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });

  it("deletes the events past retention in one go, anchors the last one, records itself, and the rest verifies", async () => {
    const last = await t.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(OLD) } });
    const remaining = await t.prisma.auditEvent.count({ where: { seq: { gt: BigInt(OLD) } } });
    const result = await purgeAuditEvents(t.prisma, { olderThan: FIRST_CUT });
    expect(result.purged).toBe(OLD);
    expect(result.anchor).toEqual({ seq: OLD, hash: last.hash });

    expect(await t.prisma.auditEvent.count({ where: { seq: { lte: BigInt(OLD) } } })).toBe(0);
    expect(await t.prisma.auditEvent.findFirst({ where: { at: { lt: FIRST_CUT } } })).toBeNull();
    const anchors = await t.prisma.auditAnchor.findMany();
    expect(anchors).toMatchObject([{ seq: BigInt(OLD), hash: last.hash, purgedBefore: FIRST_CUT, purgedCount: OLD }]);
    const event = await t.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(result.event!.seq) } });
    expect(event).toMatchObject({
      action: "audit.purged",
      entityType: "AuditLog",
      actorEmail: "system",
      after: { count: OLD, before: FIRST_CUT.toISOString(), anchorSeq: OLD, anchorHash: last.hash },
    });

    const verification = await verifyAuditChain(t.prisma);
    expect(verification).toMatchObject({
      ok: true,
      checked: remaining + 1,
      anchor: { seq: OLD, hash: last.hash, purgedCount: OLD },
    });
    expect((await verifyOverHttp()).body).toMatchObject({ status: "intact", anchor: { seq: OLD, hash: last.hash } });
    // The first remaining event links to the anchor.
    expect((await t.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(OLD + 1) } })).prevHash).toBe(last.hash);
  });

  it("has nothing more to do at once: a second run purges nothing and records nothing", async () => {
    const before = Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
    expect(await purgeAuditEvents(t.prisma, { olderThan: FIRST_CUT })).toEqual({
      purged: 0,
      anchor: null,
      event: null,
    });
    expect(Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq)).toBe(before);
    expect(await t.prisma.auditAnchor.count()).toBe(1);
  });

  it("leaves anchors that nobody can change or remove", async () => {
    expect(await rejection(t.prisma.$executeRawUnsafe(`UPDATE "AuditAnchor" SET hash = 'x'`))).toMatch(
      /AuditAnchor rows are append-only \(UPDATE refused\)/,
    );
    expect(await rejection(t.prisma.$executeRawUnsafe(`DELETE FROM "AuditAnchor"`))).toMatch(
      /append-only \(DELETE refused\)/,
    );
    expect(
      await rejection(
        t.prisma.$transaction(async (tx) => {
          await tx.$executeRawUnsafe(`SET LOCAL greenlight.audit_retention = 'on'`);
          await tx.$executeRawUnsafe(`DELETE FROM "AuditAnchor"`);
        }),
      ),
    ).toMatch(/append-only \(DELETE refused\)/);
    expect(await rejection(t.prisma.$executeRawUnsafe(`TRUNCATE "AuditAnchor"`))).toMatch(
      /append-only \(TRUNCATE refused\)/,
    );
  });
});

describe("after a purge", () => {
  it("still catches an event edited after the cut", async () => {
    const [original] = await t.prisma.$queryRawUnsafe<{ after: string }[]>(
      `SELECT "after"::text AS after FROM "AuditEvent" WHERE seq = ${OLD + 3}`,
    );
    await asDba(t.prisma, `UPDATE "AuditEvent" SET "after" = '{"forged": true}' WHERE seq = ${OLD + 3}`);
    const { body } = await verifyOverHttp();
    expect(body).toMatchObject({
      status: "broken",
      firstBrokenSeq: OLD + 3,
      breaks: [{ seq: OLD + 3, kind: "altered" }],
    });
    await asDba(
      t.prisma,
      `UPDATE "AuditEvent" SET "after" = '${original!.after.replace(/'/g, "''")}' WHERE seq = ${OLD + 3}`,
    );
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });

  it("still catches the first event after the anchor being deleted", async () => {
    const restore = await rowAsInsert(t.prisma, "AuditEvent", `seq = ${OLD + 1}`);
    await asDba(t.prisma, `DELETE FROM "AuditEvent" WHERE seq = ${OLD + 1}`);
    const result = await verifyAuditChain(t.prisma);
    expect(result).toMatchObject({ ok: false, firstBrokenSeq: OLD + 1 });
    if (!result.ok) expect(result.breaks.map((b) => b.detail)).toEqual([`event ${OLD + 1} is missing`]);
    await asDba(t.prisma, restore);
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });

  it("reports an altered anchor as such", async () => {
    const restore = await rowAsInsert(t.prisma, "AuditAnchor", "true");
    await asDba(t.prisma, `UPDATE "AuditAnchor" SET hash = '${"f".repeat(64)}'`);
    const result = await verifyAuditChain(t.prisma);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.firstBrokenSeq).toBe(OLD);
    expect(result.breaks[0]).toMatchObject({
      seq: OLD,
      kind: "anchor",
      detail: expect.stringMatching(
        /retention anchor at event 40 does not match the purge in event \d+ that recorded it: the anchor was altered/,
      ),
    });
    await asDba(t.prisma, `DELETE FROM "AuditAnchor"`, restore);
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });

  it("reports a deleted anchor as such", async () => {
    const restore = await rowAsInsert(t.prisma, "AuditAnchor", "true");
    await asDba(t.prisma, `DELETE FROM "AuditAnchor"`);
    const { body } = await verifyOverHttp();
    expect(body).toMatchObject({ status: "broken", firstBrokenSeq: 1, anchor: null });
    expect(body.breaks!.map((b) => b.detail)).toEqual([
      `events 1–${OLD} are missing`,
      expect.stringMatching(
        /the retention anchor at event 40, recorded by the purge in event \d+, is missing: it was deleted/,
      ),
    ]);
    await asDba(t.prisma, restore);
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });

  it("reports an anchor the retention job did not make (events cut from the start and covered up)", async () => {
    // A DBA deletes the next five events and leaves an anchor at the last of them, so the links
    // from there on check out. Only the chain's own record of purges gives it away.
    const cut = OLD + 5;
    const restores = await Promise.all(
      [OLD + 1, OLD + 2, OLD + 3, OLD + 4, cut].map((seq) => rowAsInsert(t.prisma, "AuditEvent", `seq = ${seq}`)),
    );
    const hash = (await t.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(cut) } })).hash;
    await asDba(
      t.prisma,
      `DELETE FROM "AuditEvent" WHERE seq <= ${cut}`,
      `INSERT INTO "AuditAnchor" (seq, hash, "purgedBefore", "purgedCount") VALUES (${cut}, '${hash}', now(), 5)`,
    );
    const result = await verifyAuditChain(t.prisma);
    expect(result).toMatchObject({ ok: false, firstBrokenSeq: cut, anchor: { seq: cut } });
    if (!result.ok) {
      expect(result.breaks).toEqual([
        {
          seq: cut,
          kind: "anchor",
          detail: `the retention anchor at event ${cut} is not recorded by any audit.purged event: the retention job did not make it`,
        },
      ]);
    }
    await asDba(t.prisma, `DELETE FROM "AuditAnchor" WHERE seq = ${cut}`, ...restores);
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });

  it("appends as before, and a later purge anchors further on", async () => {
    await t.prisma.$transaction((tx) => recordAudit(tx, systemActor(), { action: "after.purge", entityType: "Thing" }));
    // With the cut-off at two years, the next ten events are past retention too.
    const result = await purgeAuditEvents(t.prisma, { olderThan: TWO_YEARS_AGO });
    expect(result).toMatchObject({ purged: 10, anchor: { seq: OLD + 10 } });
    expect(await t.prisma.auditAnchor.count()).toBe(2);
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true, anchor: { seq: OLD + 10 } });
  });
});

describe("the retention job", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  it("purges on its own, logs what it did, and stops (waiting for a run in progress)", async () => {
    await appendSyntheticEvents(db.prisma, 25, {
      from: new Date(NOW - 3 * 365 * DAY),
      to: new Date(NOW - 2.2 * 365 * DAY),
    });
    await appendSyntheticEvents(db.prisma, 5, { from: new Date(NOW - 100 * DAY), to: new Date(NOW - DAY) });
    const capture = logCapture();
    const log = pino({ level: "info" }, capture.stream);
    const stop = startAuditRetention({ prisma: db.prisma, log }, { intervalMs: 60_000, firstRunAfterMs: 0 });
    try {
      await waitFor(async () => (await db.prisma.auditAnchor.count()) === 1, "the first purge");
      await waitFor(() => capture.lines.some((l) => l.includes('"action":"audit.purged"')), "the log line");
      expect(await db.prisma.auditEvent.count({ where: { seq: { lte: 25n } } })).toBe(0);
    } finally {
      await stop();
    }
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, anchor: { seq: 25 } });
    expect(JSON.parse(capture.lines.find((l) => l.includes('"action":"audit.purged"'))!)).toMatchObject({
      msg: expect.stringMatching(/^Purged 25 audit events older than /),
      metadata: { count: 25, anchorSeq: 25 },
    });
  });

  it("will not keep events for less than two years", () => {
    expect(() =>
      startAuditRetention(
        { prisma: db.prisma, log: pino({ enabled: false }) },
        { intervalMs: 60_000, retentionDays: 365 },
      ),
    ).toThrow("Audit retention must be at least 730 days (got 365)");
  });
});
