/**
 * The auditors' filters on a real database: each filter on its own and combined gives exactly the
 * events a plain JavaScript reading of the same fixtures gives (newest first); time bounds are
 * inclusive and survive clocks that went backwards; pages follow each other without duplicates or
 * gaps even while events are appended; bad input is refused with a message naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor, type Actor } from "../../server/audit/actor.ts";
import { hashEvent, toStoredJson } from "../../server/audit/chain.ts";
import { auditPageInput, listAuditEvents, type AuditFilter } from "../../server/audit/query.ts";
import { recordAudit, type AuditEntry } from "../../server/audit/record.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { describeZodError } from "../../server/trpc/init.ts";
import { createService } from "../../server/releases/catalog.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";

const S1 = "11111111-1111-4111-8111-111111111111";
const S2 = "22222222-2222-4222-8222-222222222222";
const S1_DEV = "1111aaaa-1111-4111-8111-111111111111";
const S1_PROD = "1111bbbb-1111-4111-8111-111111111111";
const S2_PROD = "2222bbbb-2222-4222-8222-222222222222";

const alice: Actor = {
  userId: "user-alice",
  email: "alice@example.test",
  roles: ["release_manager"],
  ip: "10.0.0.1",
  traceId: "t-a",
};
const bob: Actor = {
  userId: "user-bob",
  email: "bob@example.test",
  roles: ["approver"],
  ip: "10.0.0.2",
  traceId: "t-b",
};
const system = systemActor("t-s");

interface Fixture {
  day: number;
  actor: Actor;
  entry: AuditEntry;
}

const FIXTURES: Fixture[] = [
  {
    day: 0,
    actor: alice,
    entry: {
      action: "deployment.started",
      entityType: "Deployment",
      entityId: "dep-1",
      serviceId: S1,
      environmentId: S1_DEV,
      after: { version: "1.0.0", note: "first rollout" },
    },
  },
  {
    day: 1,
    actor: system,
    entry: {
      action: "deployment.step_advanced",
      entityType: "Deployment",
      entityId: "dep-1",
      serviceId: S1,
      environmentId: S1_DEV,
      after: { weight: 50 },
    },
  },
  {
    day: 2,
    actor: system,
    entry: {
      action: "deployment.succeeded",
      entityType: "Deployment",
      entityId: "dep-1",
      serviceId: S1,
      environmentId: S1_DEV,
    },
  },
  {
    day: 3,
    actor: bob,
    entry: {
      action: "approval.granted",
      entityType: "Approval",
      entityId: "apr-1",
      serviceId: S1,
      environmentId: S1_PROD,
      after: { reason: "Looks good, ticket OPS-1234" },
    },
  },
  {
    day: 4,
    actor: alice,
    entry: {
      action: "release.created",
      entityType: "Release",
      entityId: "rel-2",
      serviceId: S1,
      after: { version: "2.0.0" },
    },
  },
  {
    day: 5,
    actor: bob,
    entry: { action: "auth.signin", entityType: "User", entityId: "user-bob", after: { userAgent: "curl/8.5" } },
  },
  {
    day: 6,
    actor: alice,
    entry: {
      action: "deployment.started",
      entityType: "Deployment",
      entityId: "dep-2",
      serviceId: S2,
      environmentId: S2_PROD,
      before: { status: "preparing" },
      after: { version: "2.0.0", note: 'he said "ship it"' },
    },
  },
  {
    day: 7,
    actor: alice,
    entry: {
      action: "deployment.rolled_back",
      entityType: "Deployment",
      entityId: "dep-2",
      serviceId: S2,
      environmentId: S2_PROD,
      after: { reason: "error rate 5% > 1%", note: "100%_sure" },
    },
  },
  {
    day: 8,
    actor: system,
    entry: {
      action: "auth.forbidden",
      entityType: "Procedure",
      entityId: "users.create",
      after: { roles: ["viewer"] },
    },
  },
  {
    day: 9,
    actor: bob,
    entry: {
      action: "approval.rejected",
      entityType: "Approval",
      entityId: "apr-2",
      serviceId: S2,
      environmentId: S2_PROD,
      after: { reason: "Grüße aus Köln" },
    },
  },
  {
    day: 10,
    actor: alice,
    entry: {
      action: "user.updated",
      entityType: "User",
      entityId: "user-carol",
      before: { name: "Carol" },
      after: { name: "Caroline" },
    },
  },
  {
    day: 11,
    actor: system,
    entry: {
      action: "checklist.evidence",
      entityType: "ChecklistItem",
      entityId: "item-1",
      serviceId: S1,
      environmentId: S1_PROD,
      after: { status: "passed", url: "https://ci.example.test/build/42" },
    },
  },
  // Twelve more, to page through.
  ...Array.from({ length: 12 }, (_, i): Fixture => ({
    day: 12 + i,
    actor: i % 3 === 0 ? alice : i % 3 === 1 ? bob : system,
    entry: {
      action: i % 2 ? "deployment.step_advanced" : "auth.signin",
      entityType: i % 2 ? "Deployment" : "User",
      entityId: `bulk-${i}`,
      serviceId: i % 2 ? (i % 4 === 1 ? S1 : S2) : null,
      environmentId: i % 2 ? (i % 4 === 1 ? S1_PROD : S2_PROD) : null,
      after: { step: i, note: i % 5 === 0 ? "OPS-1234 follow-up" : "routine" },
    },
  })),
];

const BASE = Date.UTC(2026, 0, 1, 9, 0, 0);
const DAY = 24 * 3600 * 1000;
const atOf = (f: Fixture, i: number) => new Date(BASE + f.day * DAY + i * 1000);

/** The same filter, read in plain JavaScript off the fixtures: what the database must answer. */
function expected(filter: AuditFilter): number[] {
  const hits: number[] = [];
  FIXTURES.forEach((f, i) => {
    const at = atOf(f, i);
    const e = f.entry;
    if (filter.from && at < filter.from) return;
    if (filter.to && at > filter.to) return;
    if (filter.serviceId && e.serviceId !== filter.serviceId) return;
    if (filter.environmentId && e.environmentId !== filter.environmentId) return;
    if (
      filter.actor &&
      ![f.actor.userId, f.actor.email].includes(filter.actor) &&
      f.actor.email !== filter.actor.toLowerCase()
    )
      return;
    if (filter.action && !e.action.startsWith(filter.action)) return;
    if (filter.text) {
      const needle = filter.text.toLowerCase();
      const escaped = JSON.stringify(filter.text).slice(1, -1).toLowerCase();
      const plain = [e.action, e.entityType, e.entityId, f.actor.email, f.actor.userId].some((s) =>
        s?.toLowerCase().includes(needle),
      );
      const json = [e.before, e.after].some(
        (v) => v !== undefined && v !== null && JSON.stringify(v).toLowerCase().includes(escaped),
      );
      if (!plain && !json) return;
    }
    hits.push(i + 1);
  });
  return hits.reverse();
}

let db: TestDatabase;
const list = async (
  filter: AuditFilter,
  extra: { cursor?: number; limit?: number } = {},
  options: { firstTextWindow?: number } = {},
) => listAuditEvents(db.prisma, auditPageInput.parse({ filter, ...extra }), options);
const seqs = async (filter: AuditFilter) => (await list(filter, { limit: 500 })).events.map((e) => e.seq);

/**
 * Appends an event written at `at`, chained exactly as recordAudit chains it (recordAudit takes
 * the clock's time, and faking the clock upsets PGlite's timers).
 */
async function writeAt(at: Date, actor: Actor, entry: AuditEntry) {
  return db.prisma.$transaction(async (tx) => {
    const head = await tx.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    const fields = {
      seq: Number(head.seq) + 1,
      at,
      actorId: actor.userId,
      actorEmail: actor.email,
      actorRoles: actor.roles,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId ?? null,
      before: toStoredJson(entry.before),
      after: toStoredJson(entry.after),
      ip: actor.ip,
      traceId: actor.traceId,
      serviceId: entry.serviceId ?? null,
      environmentId: entry.environmentId ?? null,
    };
    const hash = hashEvent(head.hash, fields);
    await tx.auditEvent.create({
      data: {
        ...fields,
        seq: BigInt(fields.seq),
        before: fields.before ?? undefined,
        after: fields.after ?? undefined,
        prevHash: head.hash,
        hash,
      },
    });
    await tx.auditChainHead.update({ where: { id: 1 }, data: { seq: BigInt(fields.seq), hash } });
    return { seq: fields.seq, hash };
  });
}

beforeAll(async () => {
  db = await openTestDatabase();
  for (const [i, f] of FIXTURES.entries()) await writeAt(atOf(f, i), f.actor, f.entry);
});
afterAll(() => db?.close());

const day = (n: number) => new Date(BASE + n * DAY);

describe("each filter on its own", () => {
  const cases: [string, AuditFilter][] = [
    ["no filter", {}],
    ["from", { from: day(20) }],
    ["to", { to: day(3) }],
    ["service", { serviceId: S1 }],
    ["another service", { serviceId: S2 }],
    ["environment", { environmentId: S1_PROD }],
    ["actor by e-mail", { actor: "alice@example.test" }],
    ["actor by e-mail in capitals", { actor: "BOB@Example.TEST" }],
    ["actor by id", { actor: "user-alice" }],
    ["the panel itself", { actor: "system" }],
    ["action prefix", { action: "deployment." }],
    ["action prefix that ends mid-word", { action: "deploy" }],
    ["whole action", { action: "deployment.started" }],
    ["action family", { action: "auth." }],
    ["text in an action", { text: "rolled_back" }],
    ["text in an entity id", { text: "dep-2" }],
    ["text in an entity type", { text: "checklistitem" }],
    ["text in an e-mail", { text: "bob@" }],
    ["text in before", { text: "preparing" }],
    ["text in after, any case", { text: "ops-1234" }],
    ["text in before and after", { text: "carol" }],
  ];
  it.each(cases)("%s", async (_name, filter) => {
    const want = expected(filter);
    expect(await seqs(filter)).toEqual(want);
  });

  it("the cases above are not vacuous: each matches some events and leaves others out", () => {
    for (const [name, filter] of cases.slice(1)) {
      const n = expected(filter).length;
      expect(n, name).toBeGreaterThan(0);
      expect(n, name).toBeLessThan(FIXTURES.length);
    }
  });

  it("includes events exactly at the bounds of a time range", async () => {
    const from = atOf(FIXTURES[2]!, 2);
    const to = atOf(FIXTURES[4]!, 4);
    expect(await seqs({ from, to })).toEqual([5, 4, 3]);
    expect(await seqs({ from: new Date(from.getTime() + 1), to: new Date(to.getTime() - 1) })).toEqual([4]);
  });

  it("takes the characters of LIKE literally, finds quotes inside the JSON, and matches non-ASCII text", async () => {
    expect(await seqs({ text: "100%_sure" })).toEqual([8]);
    expect(await seqs({ text: "5% >" })).toEqual([8]);
    expect(await seqs({ text: "%" })).toEqual([8]);
    expect(await seqs({ text: "_" })).toEqual(expected({ text: "_" }));
    expect(await seqs({ text: '"ship it"' })).toEqual([7]);
    expect(await seqs({ text: "Grüße" })).toEqual([10]);
    expect(await seqs({ text: "aus Köln" })).toEqual([10]);
  });

  it("answers nothing, quickly, for an action prefix no event has, an unknown actor or a word nowhere", async () => {
    expect(await seqs({ action: "nope." })).toEqual([]);
    expect(await seqs({ action: "Deployment." })).toEqual([]);
    expect(await seqs({ actor: "mallory@example.test" })).toEqual([]);
    expect(await seqs({ text: "no such words" })).toEqual([]);
  });
});

describe("filters combined", () => {
  const cases: [string, AuditFilter][] = [
    ["service and environment", { serviceId: S1, environmentId: S1_PROD }],
    ["service and an environment of another service", { serviceId: S1, environmentId: S2_PROD }],
    ["service and action", { serviceId: S2, action: "deployment." }],
    ["actor and action", { actor: "alice@example.test", action: "deployment.started" }],
    ["time range and actor", { from: day(3), to: day(12), actor: "user-bob" }],
    ["time range, service and text", { from: day(10), serviceId: S1, text: "OPS-1234" }],
    [
      "everything",
      {
        from: day(0),
        to: day(30),
        serviceId: S2,
        environmentId: S2_PROD,
        actor: "ALICE@example.test",
        action: "deployment.",
        text: "2.0",
      },
    ],
  ];
  it.each(cases)("%s", async (_name, filter) => {
    expect(await seqs(filter)).toEqual(expected(filter));
  });
});

describe("pages", () => {
  async function allPages(
    filter: AuditFilter,
    limit: number,
    options: { firstTextWindow?: number } = {},
    between?: () => Promise<void>,
  ) {
    const seen: number[] = [];
    let cursor: number | undefined;
    for (let page = 0; page < 100; page++) {
      const result = await list(filter, { cursor, limit }, options);
      seen.push(...result.events.map((e) => e.seq));
      if (result.nextCursor === null) return seen;
      expect(result.nextCursor).toBe(result.events[result.events.length - 1]!.seq);
      cursor = result.nextCursor;
      await between?.();
    }
    throw new Error("too many pages");
  }

  it("follow each other newest first, without duplicates or gaps, for several filters and page sizes", async () => {
    for (const filter of [
      {},
      { serviceId: S1 },
      { action: "auth." },
      { text: "routine" },
      { from: day(5), to: day(20) },
    ] as AuditFilter[]) {
      for (const limit of [1, 4, 7, 50]) {
        expect(await allPages(filter, limit), `${JSON.stringify(filter)} by ${limit}`).toEqual(expected(filter));
      }
    }
  });

  it("follow each other for free text searched in narrow windows (several windows per page, pages across windows)", async () => {
    for (const text of ["routine", "ops-1234", "alice", "no such words"]) {
      for (const limit of [1, 3, 10]) {
        expect(await allPages({ text }, limit, { firstTextWindow: 2 }), `${text} by ${limit}`).toEqual(
          expected({ text }),
        );
      }
    }
    expect(await allPages({ text: "routine", from: day(13), to: day(21) }, 2, { firstTextWindow: 1 })).toEqual(
      expected({ text: "routine", from: day(13), to: day(21) }),
    );
  });

  it("are not disturbed by events appended between them: no duplicates, no gaps, no newcomers on later pages", async () => {
    const before = expected({});
    const head = before[0]!;
    let appended = 0;
    const seen = await allPages({}, 5, {}, async () => {
      appended++;
      await db.prisma.$transaction((tx) =>
        recordAudit(tx, alice, { action: "page.appended", entityType: "Thing", entityId: `new-${appended}` }),
      );
    });
    expect(seen).toEqual(before);
    expect(appended).toBeGreaterThan(2);
    // The newcomers are on a fresh first page.
    const first = await list({}, { limit: appended });
    expect(first.events.map((e) => e.seq)).toEqual(Array.from({ length: appended }, (_, i) => head + appended - i));
  });
});

describe("input", () => {
  /** The message people read (the field in words) and the paths machines get. */
  const problems = (input: unknown) => {
    const result = auditPageInput.safeParse(input);
    return result.success
      ? null
      : { message: describeZodError(result.error), paths: result.error.issues.map((i) => i.path.join(".")) };
  };

  it("is refused with messages that name the field", () => {
    expect(problems({ filter: { from: "yesterday" } })).toEqual({
      message: "From (filter): must be a date",
      paths: ["filter.from"],
    });
    expect(problems({ filter: { to: "2026-13-45" } })).toEqual({
      message: "To (filter): must be a date",
      paths: ["filter.to"],
    });
    expect(problems({ filter: { from: "2026-02-01", to: "2026-01-01" } })).toEqual({
      message: "From (filter): must not be after 'to'",
      paths: ["filter.from"],
    });
    expect(problems({ filter: { serviceId: "service-1" } })).toEqual({
      message: "Service (filter): must be a service id",
      paths: ["filter.serviceId"],
    });
    expect(problems({ filter: { environmentId: "prod" } })).toEqual({
      message: "Environment (filter): must be an environment id",
      paths: ["filter.environmentId"],
    });
    expect(problems({ filter: { text: "x".repeat(201) } })).toEqual({
      message: "Text (filter): must be at most 200 characters",
      paths: ["filter.text"],
    });
    expect(problems({ filter: { action: "a".repeat(101) } })).toEqual({
      message: "Action (filter): must be at most 100 characters",
      paths: ["filter.action"],
    });
    expect(problems({ filter: { actor: "a".repeat(201) } })).toEqual({
      message: "Actor (filter): must be at most 200 characters",
      paths: ["filter.actor"],
    });
    expect(problems({ cursor: -3 })).toEqual({ message: "Cursor: must be a sequence number", paths: ["cursor"] });
    expect(problems({ limit: 0 })).toEqual({ message: "Limit: must be at least 1", paths: ["limit"] });
    expect(problems({ limit: 501 })).toEqual({ message: "Limit: must be at most 500", paths: ["limit"] });
  });

  it("treats empty fields (an untouched form) as no filter", async () => {
    const parsed = auditPageInput.parse({
      filter: { from: "", to: " ", serviceId: "", environmentId: "", actor: "", action: "", text: "  " },
    });
    expect(parsed.filter).toEqual({});
  });
});

describe("time along the chain", () => {
  it("never goes backwards: an event written by a clock that lags takes its predecessor's time", async () => {
    // The newest event was written by an instance whose clock is an hour ahead of this one's.
    const ahead = new Date(Date.now() + 3600_000);
    await writeAt(ahead, bob, { action: "clock.ahead", entityType: "Thing" });
    const written = await db.prisma.$transaction((tx) =>
      recordAudit(tx, alice, { action: "clock.behind", entityType: "Thing" }),
    );
    const row = await db.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(written.seq) } });
    expect(row.at.getTime()).toBe(ahead.getTime());
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
  });

  it("still finds, by time, an older event whose time lags its predecessor's (written before that rule)", async () => {
    // As a panel instance with a slow clock wrote them before times were kept in order: inserted
    // directly, 40 minutes behind the event before, chained properly.
    const head = await db.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    const previous = await db.prisma.auditEvent.findUniqueOrThrow({ where: { seq: head.seq } });
    const lagging = new Date(previous.at.getTime() - 40 * 60_000);
    const fields = {
      seq: Number(head.seq) + 1,
      at: lagging,
      actorId: "user-legacy",
      actorEmail: "legacy@example.test",
      actorRoles: [],
      action: "legacy.lagging",
      entityType: "Thing",
      entityId: "legacy-1",
      before: null,
      after: null,
      ip: null,
      traceId: null,
      serviceId: null,
      environmentId: null,
    };
    const hash = hashEvent(head.hash, fields);
    await db.prisma.auditEvent.create({
      data: { ...fields, seq: BigInt(fields.seq), before: undefined, after: undefined, prevHash: head.hash, hash },
    });
    await db.prisma.auditChainHead.update({ where: { id: 1 }, data: { seq: BigInt(fields.seq), hash } });

    const window = { from: new Date(lagging.getTime() - 1000), to: new Date(lagging.getTime() + 1000) };
    expect((await list(window)).events.map((e) => e.action)).toEqual(["legacy.lagging"]);
    expect((await list({ to: window.to, actor: "legacy@example.test" })).events.map((e) => e.seq)).toEqual([
      fields.seq,
    ]);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
  });
});

describe("events about an environment", () => {
  it("are about its service too, so the service filter finds them", async () => {
    const { service, environments } = await createService(db.prisma, systemActor(), {
      name: "Filter target",
      description: "",
      environments: ["staging", "production"],
    });
    const production = environments.find((e) => e.name === "production")!;
    const written = await db.prisma.$transaction((tx) =>
      recordAudit(tx, alice, {
        action: "environment.touched",
        entityType: "Environment",
        entityId: production.id,
        environmentId: production.id,
      }),
    );
    const row = await db.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(written.seq) } });
    expect(row).toMatchObject({ serviceId: service.id, environmentId: production.id });
    expect((await list({ serviceId: service.id, action: "environment.touched" })).events.map((e) => e.seq)).toEqual([
      written.seq,
    ]);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
  });
});

describe("the widest time range", () => {
  it("from the year 1 to the last day a date can hold finds everything", async () => {
    const all = await seqs({});
    expect(await seqs({ from: new Date("0001-01-01T00:00:00.000Z"), to: new Date(8.64e15) })).toEqual(all);
    expect(await seqs({ from: new Date("0001-01-01T00:30:00.000Z") })).toEqual(all);
    expect(await seqs({ to: new Date("0001-01-01T00:00:00.000Z") })).toEqual([]);
  });
});
