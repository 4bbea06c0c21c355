/**
 * The rules of the audit hash chain (server/audit/chain.ts) on synthetic rows: canonical JSON,
 * the event hash, and what ChainChecker reports for intact, altered, missing and relinked rows.
 */
import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  ChainChecker,
  GENESIS_HASH,
  hashEvent,
  toStoredJson,
  toStoredText,
  type ChainBreak,
  type ChainedFields,
  type StoredEvent,
} from "../../server/audit/chain.ts";

describe("canonicalJson", () => {
  it.each([
    ["flat objects", { b: 1, a: 2 }, { a: 2, b: 1 }],
    ["nested objects", { outer: { z: 1, y: { q: 1, p: 2 } }, a: 0 }, { a: 0, outer: { y: { p: 2, q: 1 }, z: 1 } }],
    ["objects inside arrays", [{ b: 1, a: [{ d: 4, c: 3 }] }], [{ a: [{ c: 3, d: 4 }], b: 1 }]],
    ["unicode keys", { é: 1, e: 2, "😀": 3 }, { "😀": 3, e: 2, é: 1 }],
    ["integer-like keys", { 10: "ten", 2: "two", a: "a" }, { a: "a", 2: "two", 10: "ten" }],
  ])("does not depend on key order: %s", (_name, one, other) => {
    expect(canonicalJson(one)).toBe(canonicalJson(other));
  });

  it.each<[string, unknown, string]>([
    [
      "keys sorted at every depth",
      { b: { d: 1, c: [{ f: 1, e: 2 }] }, a: null },
      '{"a":null,"b":{"c":[{"e":2,"f":1}],"d":1}}',
    ],
    ["dates as ISO strings", { at: new Date("2026-01-02T03:04:05.678Z") }, '{"at":"2026-01-02T03:04:05.678Z"}'],
    ["a date on its own", new Date(0), '"1970-01-01T00:00:00.000Z"'],
    ["undefined object members dropped", { a: undefined, b: 1, c: { d: undefined } }, '{"b":1,"c":{}}'],
    ["undefined array elements as null", [1, undefined, 2], "[1,null,2]"],
    ["undefined on its own as null", undefined, "null"],
    ["null", null, "null"],
    ["bigint as a string", { n: 12345678901234567890n }, '{"n":"12345678901234567890"}'],
    ["a bigint on its own", 7n, '"7"'],
    [
      "non-finite numbers as null",
      [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      "[null,null,null]",
    ],
    [
      "numbers, booleans and strings as JSON",
      [0, -1.5, 1e21, true, false, 'a"b\\c\n'],
      '[0,-1.5,1e+21,true,false,"a\\"b\\\\c\\n"]',
    ],
    ["unicode unchanged", { s: "Grüße 😀 日本" }, '{"s":"Grüße 😀 日本"}'],
    ["empty containers", { a: {}, b: [] }, '{"a":{},"b":[]}'],
  ])("writes %s", (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it("is valid JSON that parses back to the same canonical form", () => {
    const value = { z: [1, { y: new Date(86_400_000), x: 2n }], a: { ü: null, b: "text" } };
    const text = canonicalJson(value);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(toStoredJson(value)).toEqual({
      a: { b: "text", ü: null },
      z: [1, { x: "2", y: "1970-01-02T00:00:00.000Z" }],
    });
  });

  it("stores undefined and null snapshots as null", () => {
    expect(toStoredJson(undefined)).toBeNull();
    expect(toStoredJson(null)).toBeNull();
  });
});

describe("toStoredText and toStoredJson: what UTF-8 can hold", () => {
  it.each<[string, string, string]>([
    ["a lone high surrogate", "a\uD800b", "a\uFFFDb"],
    ["a lone low surrogate", "a\uDC00b", "a\uFFFDb"],
    ["a lone surrogate at either end", "\uDBFFx\uDC00", "\uFFFDx\uFFFD"],
    ["two high surrogates in a row", "\uD800\uD800", "\uFFFD\uFFFD"],
    ["a pair the wrong way round", "\uDC00\uD800", "\uFFFD\uFFFD"],
    ["a proper pair (kept)", "emoji \uD83D\uDE00", "emoji 😀"],
    ["text without surrogates (kept)", "Grüße, 日本", "Grüße, 日本"],
  ])("replaces %s with U+FFFD, as the database driver does", (_name, value, expected) => {
    expect(toStoredText(value)).toBe(expected);
    expect(Buffer.from(value, "utf8").toString("utf8")).toBe(expected);
  });

  it("keeps null", () => {
    expect(toStoredText(null)).toBeNull();
  });

  it("makes every string in a snapshot well-formed, keys included", () => {
    expect(toStoredJson({ ["k\uD800"]: ["v\uDC00", { deep: "\uD83D\uDE00 \uD83D" }], n: 1, b: true, z: null })).toEqual(
      {
        ["k\uFFFD"]: ["v\uFFFD", { deep: "😀 \uFFFD" }],
        n: 1,
        b: true,
        z: null,
      },
    );
    expect(toStoredJson("\uDE00")).toBe("\uFFFD");
  });
});

const BASE: ChainedFields = {
  seq: 1,
  at: new Date("2026-03-04T05:06:07.089Z"),
  actorId: "user-1",
  actorEmail: "ada@example.test",
  actorRoles: ["admin", "auditor"],
  action: "user.created",
  entityType: "User",
  entityId: "user-2",
  before: { name: "Old", roles: ["viewer"] },
  after: { name: "New", roles: ["viewer", "approver"], nested: { n: 1 } },
  ip: "10.0.0.1",
  traceId: "trace-1",
};

describe("hashEvent", () => {
  it("is deterministic: the same fields hash the same, whatever the key order in snapshots", () => {
    const hash = hashEvent(GENESIS_HASH, BASE);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashEvent(GENESIS_HASH, { ...BASE })).toBe(hash);
    const reordered: ChainedFields = {
      ...BASE,
      after: { nested: { n: 1 }, roles: ["viewer", "approver"], name: "New" },
      before: { roles: ["viewer"], name: "Old" },
    };
    expect(hashEvent(GENESIS_HASH, reordered)).toBe(hash);
    // A snapshot read back from the database (plain JSON) hashes like the one written.
    expect(
      hashEvent(GENESIS_HASH, { ...BASE, before: toStoredJson(BASE.before), after: toStoredJson(BASE.after) }),
    ).toBe(hash);
    // undefined snapshots hash like null ones, as the database stores both as NULL.
    expect(hashEvent(GENESIS_HASH, { ...BASE, before: undefined })).toBe(
      hashEvent(GENESIS_HASH, { ...BASE, before: null }),
    );
  });

  const changes: [string, Partial<ChainedFields>][] = [
    ["seq", { seq: 2 }],
    ["at (one millisecond)", { at: new Date(BASE.at.getTime() + 1) }],
    ["actorId", { actorId: "user-9" }],
    ["actorId to null", { actorId: null }],
    ["actorEmail", { actorEmail: "eve@example.test" }],
    ["actorEmail to null", { actorEmail: null }],
    ["actorRoles (order)", { actorRoles: ["auditor", "admin"] }],
    ["actorRoles (one more)", { actorRoles: ["admin", "auditor", "cto"] }],
    ["actorRoles (empty)", { actorRoles: [] }],
    ["action", { action: "user.deleted" }],
    ["entityType", { entityType: "Release" }],
    ["entityId", { entityId: "user-3" }],
    ["entityId to null", { entityId: null }],
    ["before (a nested value)", { before: { name: "Old", roles: ["admin"] } }],
    ["before to null", { before: null }],
    ["after (a deep number)", { after: { name: "New", roles: ["viewer", "approver"], nested: { n: 2 } } }],
    ["after (a number's type)", { after: { name: "New", roles: ["viewer", "approver"], nested: { n: "1" } } }],
    ["after (an extra key)", { after: { name: "New", roles: ["viewer", "approver"], nested: { n: 1 }, extra: true } }],
    ["after (array order)", { after: { name: "New", roles: ["approver", "viewer"], nested: { n: 1 } } }],
    ["after to null", { after: null }],
    ["ip", { ip: "10.0.0.2" }],
    ["ip to null", { ip: null }],
    ["traceId", { traceId: "trace-2" }],
    ["traceId to null", { traceId: null }],
  ];

  it.each(changes)("changes when %s changes", (_name, change) => {
    expect(hashEvent(GENESIS_HASH, { ...BASE, ...change })).not.toBe(hashEvent(GENESIS_HASH, BASE));
  });

  it("changes with the previous hash", () => {
    expect(hashEvent("f".repeat(64), BASE)).not.toBe(hashEvent(GENESIS_HASH, BASE));
  });

  it("does not confuse before with after", () => {
    const swapped = { ...BASE, before: BASE.after, after: BASE.before };
    expect(hashEvent(GENESIS_HASH, swapped)).not.toBe(hashEvent(GENESIS_HASH, BASE));
  });

  it("gives every distinct change a distinct hash", () => {
    const hashes = new Set([
      hashEvent(GENESIS_HASH, BASE),
      ...changes.map(([, change]) => hashEvent(GENESIS_HASH, { ...BASE, ...change })),
    ]);
    expect(hashes.size).toBe(changes.length + 1);
  });
});

/** A correctly chained run of rows 1..n. */
function chain(n: number): StoredEvent[] {
  const rows: StoredEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const fields: ChainedFields = {
      seq,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
      actorId: `user-${seq % 3}`,
      actorEmail: `user-${seq % 3}@example.test`,
      actorRoles: seq % 2 ? ["admin"] : ["viewer", "auditor"],
      action: `thing.done.${seq}`,
      entityType: "Thing",
      entityId: seq % 4 ? `thing-${seq}` : null,
      before: seq % 5 ? { count: seq - 1, tags: ["a", "b"] } : null,
      after: { count: seq, tags: ["a", "b", `t${seq}`], nested: { deep: { seq } } },
      ip: "10.0.0.1",
      traceId: `trace-${seq}`,
    };
    const hash = hashEvent(prevHash, fields);
    rows.push({ ...fields, prevHash, hash });
    prevHash = hash;
  }
  return rows;
}

function row(rows: StoredEvent[], seq: number): StoredEvent {
  const found = rows.find((r) => r.seq === seq);
  if (!found) throw new Error(`no row ${seq}`);
  return found;
}

/** Checks rows (in batches of `batch`, as the verifier feeds them) and finishes at headSeq. */
function check(
  rows: StoredEvent[],
  headSeq: number,
  batch = rows.length || 1,
): { breaks: Pick<ChainBreak, "seq" | "kind">[]; checked: number; details: string[] } {
  const checker = new ChainChecker({ seq: 0, hash: GENESIS_HASH });
  for (let i = 0; i < rows.length; i += batch) for (const r of rows.slice(i, i + batch)) checker.check(r);
  checker.finish(headSeq);
  return {
    breaks: checker.breaks.map(({ seq, kind }) => ({ seq, kind })),
    checked: checker.checked,
    details: checker.breaks.map((b) => b.detail),
  };
}

/** Replaces one row's stored fields without recomputing its hash (what a plain UPDATE would do). */
function alter(rows: StoredEvent[], seq: number, change: Partial<StoredEvent>): StoredEvent[] {
  return rows.map((r) => (r.seq === seq ? { ...r, ...change } : r));
}

const without = (rows: StoredEvent[], ...seqs: number[]) => rows.filter((r) => !seqs.includes(r.seq));

describe("ChainChecker", () => {
  const rows = chain(20);

  it.each([1, 3, 7, 20])("finds an intact chain intact (fed in batches of %i)", (batch) => {
    expect(check(rows, 20, batch)).toMatchObject({ breaks: [], checked: 20 });
  });

  it("finds the newest event rewritten with a fresh hash through the chain head's hash", () => {
    const rewritten = rows.map((r) =>
      r.seq === 20
        ? { ...r, after: { forged: true }, hash: hashEvent(r.prevHash, { ...r, after: { forged: true } }) }
        : r,
    );
    const checker = new ChainChecker({ seq: 0, hash: GENESIS_HASH });
    for (const r of rewritten) checker.check(r);
    expect(checker.breaks).toEqual([]);
    checker.finish(20, row(rows, 20).hash);
    expect(checker.breaks.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: 20, kind: "relinked" }]);
  });

  it("finds an empty log with a genesis head intact", () => {
    expect(check([], 0).breaks).toEqual([]);
  });

  it("can start from an anchor instead of the genesis", () => {
    const checker = new ChainChecker({ seq: 10, hash: row(rows, 10).hash });
    for (const r of rows.slice(10)) checker.check(r);
    checker.finish(20);
    expect(checker.breaks).toEqual([]);
    expect(checker.checked).toBe(10);
  });

  const alterations: [string, Partial<StoredEvent>][] = [
    ["after", { after: { count: 999 } }],
    ["before", { before: null }],
    ["a deep value in after", { after: { count: 7, tags: ["a", "b", "t7"], nested: { deep: { seq: 8 } } } }],
    ["action", { action: "thing.undone" }],
    ["actorId", { actorId: "someone-else" }],
    ["actorRoles", { actorRoles: ["admin", "cto"] }],
    ["at", { at: new Date(Date.UTC(2025, 0, 1)) }],
    ["entityId", { entityId: "thing-other" }],
    ["ip", { ip: null }],
    ["traceId", { traceId: "trace-x" }],
  ];

  it.each(alterations)("reports one altered row exactly once when its %s was changed", (_name, change) => {
    const result = check(alter(rows, 7, change), 20);
    expect(result.breaks).toEqual([{ seq: 7, kind: "altered" }]);
    expect(result.checked).toBe(20);
    expect(result.details[0]).toMatch(/event 7 does not match its hash/);
  });

  it("reports a row whose stored hash was overwritten as altered, and the next row as no longer following it", () => {
    // The checker cannot tell which of the two disagreeing hashes is the true one.
    expect(check(alter(rows, 7, { hash: "a".repeat(64) }), 20).breaks).toEqual([
      { seq: 7, kind: "altered" },
      { seq: 8, kind: "relinked" },
    ]);
  });

  it("reports each of several altered rows once", () => {
    const tampered = alter(alter(alter(rows, 1, { action: "x" }), 11, { actorEmail: "x@example.test" }), 20, {
      after: null,
    });
    expect(check(tampered, 20).breaks).toEqual([
      { seq: 1, kind: "altered" },
      { seq: 11, kind: "altered" },
      { seq: 20, kind: "altered" },
    ]);
  });

  it.each([2, 10, 19])("reports one missing row in the middle (row %i)", (seq) => {
    const result = check(without(rows, seq), 20);
    expect(result.breaks).toEqual([{ seq, kind: "missing" }]);
    expect(result.details).toEqual([`event ${seq} is missing`]);
    expect(result.checked).toBe(19);
  });

  it("reports a missing first row", () => {
    expect(check(without(rows, 1), 20).breaks).toEqual([{ seq: 1, kind: "missing" }]);
  });

  it("reports a run of missing rows once, from its first sequence number", () => {
    const result = check(without(rows, 5, 6, 7, 8), 20);
    expect(result.breaks).toEqual([{ seq: 5, kind: "missing" }]);
    expect(result.details).toEqual(["events 5–8 are missing"]);
  });

  it("reports separate gaps separately", () => {
    expect(check(without(rows, 3, 12, 13), 20).breaks).toEqual([
      { seq: 3, kind: "missing" },
      { seq: 12, kind: "missing" },
    ]);
  });

  it("reports a gap even when the batch boundary falls on it", () => {
    expect(check(without(rows, 6), 20, 5).breaks).toEqual([{ seq: 6, kind: "missing" }]);
  });

  it("reports both a missing row and an altered one", () => {
    const result = check(without(alter(rows, 7, { after: { edited: true } }), 13), 20);
    expect(result.breaks).toEqual([
      { seq: 7, kind: "altered" },
      { seq: 13, kind: "missing" },
    ]);
  });

  it.each<[string, number[], number, { seq: number; detail: string }]>([
    ["the last row", [20], 20, { seq: 20, detail: "event 20 is missing" }],
    ["the last three rows", [18, 19, 20], 20, { seq: 18, detail: "events 18–20 are missing" }],
    ["every row", rows.map((r) => r.seq), 20, { seq: 1, detail: "events 1–20 are missing" }],
  ])("detects %s cut from the end through the head's sequence number", (_name, cut, headSeq, expected) => {
    const result = check(without(rows, ...cut), headSeq);
    expect(result.breaks).toEqual([{ seq: expected.seq, kind: "missing" }]);
    expect(result.details).toEqual([expected.detail]);
  });

  it("cannot see rows cut from the end without the head (finish at the last row it saw)", () => {
    expect(check(without(rows, 19, 20), 18).breaks).toEqual([]);
  });

  it("reports a rewritten row whose own hash is self-consistent but which does not follow its predecessor as relinked", () => {
    // Row 7 rewritten and re-hashed so that it is self-consistent, but chained to a made-up predecessor.
    const original = row(rows, 7);
    const forgedPrev = "b".repeat(64);
    const forged: StoredEvent = {
      ...original,
      after: { forged: true },
      prevHash: forgedPrev,
      hash: hashEvent(forgedPrev, { ...original, after: { forged: true } }),
    };
    // Row 8 still names the original row 7's hash; chain it to the forged one so only row 7 is out of place.
    const next = row(rows, 8);
    const relinkedNext: StoredEvent = { ...next, prevHash: forged.hash, hash: hashEvent(forged.hash, next) };
    const rest = rows
      .filter((r) => r.seq > 8)
      .reduce<StoredEvent[]>((acc, r) => {
        const prev = acc[acc.length - 1] ?? relinkedNext;
        return [...acc, { ...r, prevHash: prev.hash, hash: hashEvent(prev.hash, r) }];
      }, []);
    const tampered = [...rows.filter((r) => r.seq < 7), forged, relinkedNext, ...rest];
    const result = check(tampered, 20);
    expect(result.breaks).toEqual([{ seq: 7, kind: "relinked" }]);
    expect(result.details[0]).toMatch(/event 7 does not follow event 6/);
  });

  it("reports a row re-hashed in place as relinked, and the row after it as no longer following it", () => {
    // The usual forgery: change row 7 and recompute its hash from the true predecessor. Row 7 is
    // then consistent, but row 8 still names the old hash.
    const original = row(rows, 7);
    const forged: StoredEvent = {
      ...original,
      after: { forged: true },
      hash: hashEvent(original.prevHash, { ...original, after: { forged: true } }),
    };
    const result = check(
      rows.map((r) => (r.seq === 7 ? forged : r)),
      20,
    );
    expect(result.breaks).toEqual([{ seq: 8, kind: "relinked" }]);
  });

  it("reports rows swapped into each other's places", () => {
    const a = row(rows, 4);
    const b = row(rows, 5);
    const swapped = rows.map((r) => (r.seq === 4 ? { ...b, seq: 4 } : r.seq === 5 ? { ...a, seq: 5 } : r));
    const result = check(swapped, 20);
    // Each swapped row's sequence number no longer matches its hash, and row 6 follows neither.
    expect(result.breaks).toEqual([
      { seq: 4, kind: "altered" },
      { seq: 5, kind: "altered" },
      { seq: 6, kind: "relinked" },
    ]);
  });
});
