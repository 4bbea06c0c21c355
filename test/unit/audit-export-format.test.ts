/**
 * The pure parts of the auditors' view: CSV fields (RFC 4180 quoting, spreadsheet formulas
 * neutralised), JSON rows, the export's query string, LIKE patterns, governance snapshots as
 * recorded, purge records, and the retention rules that need no database.
 */
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { csvField, csvRecord, CSV_HEADER, EXPORT_COLUMNS, jsonRow, type ExportRow } from "../../server/audit/export.ts";
import { readGovernance } from "../../server/audit/history.ts";
import { describeFilter, likePattern } from "../../server/audit/query.ts";
import { purgeAuditEvents, startAuditRetention } from "../../server/audit/retention.ts";
import { purgeRecordOf } from "../../server/audit/verify.ts";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { parseExportQuery } from "../../server/http/audit-routes.ts";
import { HttpError } from "../../server/http/request.ts";

describe("a CSV field", () => {
  it.each([
    [null, ""],
    ["", ""],
    ["plain", "plain"],
    ["a=b+c-d@e", "a=b+c-d@e"],
    ["with, comma", '"with, comma"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["carriage\rreturn", '"carriage\rreturn"'],
    ["crlf\r\ninside", '"crlf\r\ninside"'],
    ["Grüße 😀", "Grüße 😀"],
  ])("%j is written %j", (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it.each([
    ["=1+1", "'=1+1"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tTAB", "'\tTAB"],
    ["\rCR", '"\'\rCR"'],
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ["-2,5", `"'-2,5"`],
  ])("%j, which a spreadsheet would run, is written %j", (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it("makes records that end with CRLF, and a header of every exported column", () => {
    expect(csvRecord(["a", null, "b,c"])).toBe('a,,"b,c"\r\n');
    expect(CSV_HEADER).toBe(`${EXPORT_COLUMNS.join(",")}\r\n`);
    expect(EXPORT_COLUMNS).toEqual([
      "seq",
      "at",
      "actorId",
      "actorEmail",
      "actorRoles",
      "action",
      "entityType",
      "entityId",
      "serviceId",
      "environmentId",
      "before",
      "after",
      "ip",
      "traceId",
      "prevHash",
      "hash",
    ]);
  });
});

describe("a JSON row", () => {
  const row: ExportRow = {
    seq: "42",
    at: "2026-11-24T10:00:00.123Z",
    actorId: null,
    actorEmail: 'quote"d@example.test',
    actorRoles: '["auditor","admin"]',
    action: "user.updated",
    entityType: "User",
    entityId: "line\nbreak",
    serviceId: null,
    environmentId: null,
    before: '{"name": "Old"}',
    after: "[1, 2.5, null, true]",
    ip: "10.0.0.1",
    traceId: null,
    prevHash: "0".repeat(64),
    hash: "f".repeat(64),
  };

  it("is an object with every column, the snapshots and roles as JSON", () => {
    expect(JSON.parse(jsonRow(row))).toEqual({
      seq: 42,
      at: "2026-11-24T10:00:00.123Z",
      actorId: null,
      actorEmail: 'quote"d@example.test',
      actorRoles: ["auditor", "admin"],
      action: "user.updated",
      entityType: "User",
      entityId: "line\nbreak",
      serviceId: null,
      environmentId: null,
      before: { name: "Old" },
      after: [1, 2.5, null, true],
      ip: "10.0.0.1",
      traceId: null,
      prevHash: "0".repeat(64),
      hash: "f".repeat(64),
    });
    expect(Object.keys(JSON.parse(jsonRow(row)) as object)).toEqual([...EXPORT_COLUMNS]);
  });

  it("writes missing snapshots and roles as null and []", () => {
    expect(JSON.parse(jsonRow({ ...row, before: null, after: null, actorRoles: null }))).toMatchObject({
      before: null,
      after: null,
      actorRoles: [],
    });
  });
});

describe("the export's query string", () => {
  const parse = (query: string) => parseExportQuery(new URLSearchParams(query));
  const refusal = (query: string) => {
    try {
      parse(query);
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      return `${(error as HttpError).status} [${(error as HttpError).field}] ${(error as HttpError).message}`;
    }
    throw new Error("accepted");
  };

  it("is CSV of everything by default, and reads every filter", () => {
    expect(parse("")).toEqual({ format: "csv", filter: {} });
    expect(
      parse(
        "format=json&from=2026-01-01T00:00:00Z&to=2026-02-01&serviceId=11111111-1111-4111-8111-111111111111&environmentId=22222222-2222-4222-8222-222222222222&actor=Ada@Example.test&action=deployment.&entityType=Deployment&entityId=d-1&text=%25_",
      ),
    ).toEqual({
      format: "json",
      filter: {
        from: new Date("2026-01-01T00:00:00Z"),
        to: new Date("2026-02-01"),
        serviceId: "11111111-1111-4111-8111-111111111111",
        environmentId: "22222222-2222-4222-8222-222222222222",
        actor: "Ada@Example.test",
        action: "deployment.",
        entityType: "Deployment",
        entityId: "d-1",
        text: "%_",
      },
    });
  });

  it("refuses what it does not know, or would have to guess, naming the parameter", () => {
    expect(refusal("format=pdf")).toBe('400 [format] Format: must be csv or json (got "pdf")');
    expect(refusal("services=x")).toMatch(/^400 \[services\] The export has no parameter "services" \(known: /);
    expect(refusal("text=a&text=b")).toBe("400 [text] Text: give it once");
    expect(refusal("to=soon")).toBe("400 [to] To: must be a date");
    expect(refusal("from=2026-03-01&to=2026-01-01")).toBe("400 [from] From: must not be after 'to'");
    expect(refusal("entityId=a%00b")).toBe("400 [entityId] Entity: must not contain a NUL character");
  });

  it("describes a filter for the record as plain JSON", () => {
    expect(
      describeFilter({ from: new Date("2026-01-01T00:00:00Z"), actor: "ada@example.test", text: undefined }),
    ).toEqual({ from: "2026-01-01T00:00:00.000Z", actor: "ada@example.test" });
  });
});

describe("a LIKE pattern", () => {
  it("takes %, _ and \\ literally", () => {
    expect(likePattern("100%_sure\\")).toBe("%100\\%\\_sure\\\\%");
    expect(likePattern("plain")).toBe("%plain%");
  });
});

describe("a governance snapshot", () => {
  it("is null when there is none, as recorded when it has the expected shape, and shown as stored when not", () => {
    expect(readGovernance(null)).toEqual({ governance: null, unreadable: null });
    const minimal = {
      changeRequest: null,
      approvals: [],
      checklist: [{ key: "k", title: "T", kind: "manual", required: true, done: false }],
      window: null,
      emergency: null,
    };
    expect(readGovernance(minimal)).toEqual({
      governance: {
        ...minimal,
        checklist: [
          {
            key: "k",
            title: "T",
            kind: "manual",
            required: true,
            done: false,
            note: null,
            link: null,
            completedBy: null,
            completedAt: null,
            evidence: null,
          },
        ],
      },
      unreadable: null,
    });
    const odd = { approvals: [{ role: "approver" }], checklist: [] };
    const read = readGovernance(odd);
    expect(read.governance).toBeNull();
    expect(read.unreadable?.stored).toBe(odd);
    expect(read.unreadable?.problem).toMatch(/^approvals\.0\.approver: /);
  });
});

describe("a purge record", () => {
  it("is the anchor an audit.purged event names, or null", () => {
    expect(purgeRecordOf({ count: 3, before: "x", anchorSeq: 12, anchorHash: "h" })).toEqual({
      anchorSeq: 12,
      anchorHash: "h",
    });
    expect(purgeRecordOf({ count: 3 })).toBeNull();
    expect(purgeRecordOf(null)).toBeNull();
    expect(purgeRecordOf("audit.purged")).toBeNull();
  });
});

describe("retention", () => {
  /** A database that must not be touched. */
  const untouchable = new Proxy(
    {},
    {
      get: (_target, key) => {
        throw new Error(`the database was used (${String(key)})`);
      },
    },
  ) as PrismaClient;
  const now = new Date("2026-11-24T12:00:00.000Z");

  it("refuses a purge that reaches into the last two years before reading anything", async () => {
    await expect(
      purgeAuditEvents(untouchable, { olderThan: new Date("2025-01-01T00:00:00.000Z"), now }),
    ).rejects.toThrow(
      "Audit events are kept for 730 days; the purge's cut-off (older than) must be 2024-11-24T12:00:00.000Z or earlier (got 2025-01-01T00:00:00.000Z)",
    );
  });

  it("will not run with less than two years or a silly interval", () => {
    const log = pino({ enabled: false });
    expect(() =>
      startAuditRetention({ prisma: untouchable, log }, { intervalMs: 3_600_000, retentionDays: 729 }),
    ).toThrow("Audit retention must be at least 730 days (got 729)");
    expect(() => startAuditRetention({ prisma: untouchable, log }, { intervalMs: 10 })).toThrow(
      "The audit retention interval must be at least 1000 ms (got 10)",
    );
  });

  // The job swallows and logs a failed purge, so a throwing database proves nothing here: count the uses instead.
  function watchedDatabase(): { prisma: PrismaClient; used: string[] } {
    const used: string[] = [];
    const prisma = new Proxy(
      {},
      {
        get: (_target, key) => {
          used.push(String(key));
          throw new Error("no database in this test");
        },
      },
    ) as PrismaClient;
    return { prisma, used };
  }

  it("does nothing until its first run, and stops cleanly before it: no run after the stop either", async () => {
    vi.useFakeTimers();
    try {
      const { prisma, used } = watchedDatabase();
      const stop = startAuditRetention(
        { prisma, log: pino({ enabled: false }) },
        { intervalMs: 3_600_000, firstRunAfterMs: 60_000 },
      );
      await vi.advanceTimersByTimeAsync(59_000);
      expect(used).toEqual([]);
      await stop();
      await vi.advanceTimersByTimeAsync(10 * 3_600_000);
      expect(used).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("runs its first purge when it is due, and again every interval", async () => {
    vi.useFakeTimers();
    try {
      const { prisma, used } = watchedDatabase();
      const stop = startAuditRetention(
        { prisma, log: pino({ enabled: false }) },
        { intervalMs: 3_600_000, firstRunAfterMs: 60_000 },
      );
      await vi.advanceTimersByTimeAsync(60_000);
      const afterFirst = used.length;
      expect(afterFirst).toBeGreaterThan(0);
      await vi.advanceTimersByTimeAsync(3_600_000);
      expect(used.length).toBeGreaterThan(afterFirst);
      await stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
