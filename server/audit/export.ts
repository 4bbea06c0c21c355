/**
 * Exporting the audit log as CSV or JSON, streamed with flat memory whatever the number of events:
 * events are read in batches in sequence order (keyset: `seq > last`, never OFFSET), each batch is
 * written as one chunk, and the next write waits for the destination to drain. At most one batch is
 * read ahead. The export covers the chain up to its head when the export began, so it is a
 * consistent snapshot even while events are appended.
 *
 * Every field an event's hash covers is exported (with its prevHash and hash), so an export can be
 * checked against the chain's rules offline.
 */
import type { Writable } from "node:stream";
import { Prisma } from "../db/generated/client.ts";
import {
  compileAuditFilter,
  EVENT_COLUMNS,
  readHeadSeq,
  type AuditFilter,
  type AuditSqlReader,
  type EventTextRow,
} from "./query.ts";

export type ExportFormat = "csv" | "json";

/** A row as the export reads it. */
export type ExportRow = EventTextRow;

export const EXPORT_COLUMNS = [
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
] as const satisfies readonly (keyof ExportRow)[];

// ─── CSV (RFC 4180) ──────────────────────────────────────────────────────────────────────────────

/** Characters a spreadsheet reads as the start of a formula (CSV injection, OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV field: a value a spreadsheet would run as a formula gets a leading apostrophe, then the
 * field is quoted if it holds a quote, a comma or a line break (quotes doubled). Null is empty.
 */
export function csvField(value: string | null): string {
  if (value === null) return "";
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvRecord(values: readonly (string | null)[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

export const CSV_HEADER = csvRecord(EXPORT_COLUMNS);

export function csvRow(row: ExportRow): string {
  return csvRecord(EXPORT_COLUMNS.map((c) => row[c]));
}

// ─── JSON ────────────────────────────────────────────────────────────────────────────────────────

const str = (v: string | null) => (v === null ? "null" : JSON.stringify(v));

/** One event as a JSON object; the snapshot and roles columns are already JSON text. */
export function jsonRow(row: ExportRow): string {
  return (
    `{"seq":${Number(row.seq)},"at":${str(row.at)},"actorId":${str(row.actorId)},"actorEmail":${str(row.actorEmail)},"actorRoles":${row.actorRoles ?? "[]"},` +
    `"action":${str(row.action)},"entityType":${str(row.entityType)},"entityId":${str(row.entityId)},"serviceId":${str(row.serviceId)},"environmentId":${str(row.environmentId)},` +
    `"before":${row.before ?? "null"},"after":${row.after ?? "null"},"ip":${str(row.ip)},"traceId":${str(row.traceId)},"prevHash":${str(row.prevHash)},"hash":${str(row.hash)}}`
  );
}

// ─── Streaming ───────────────────────────────────────────────────────────────────────────────────

export interface ExportResult {
  rows: number;
  /** False when the destination closed before the end (the client went away). */
  completed: boolean;
  /** The chain head when the export began: the export covers events up to it. */
  headSeq: number;
}

export interface ExportOptions {
  /** Events per query and per write (default 2000). */
  batchSize?: number;
  /** Called before each batch query (tests watch the read-ahead). */
  onBatch?: (info: { after: number; index: number }) => void;
}

/** Writes a chunk; resolves true once the destination can take more, false if it closed. */
function write(sink: Writable, chunk: string): Promise<boolean> {
  if (sink.destroyed || sink.writableEnded) return Promise.resolve(false);
  if (sink.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      sink.off("drain", onDrain);
      sink.off("close", onClose);
      sink.off("error", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    sink.on("drain", onDrain);
    sink.on("close", onClose);
    sink.on("error", onClose);
  });
}

/**
 * Streams the events matching `filter` (oldest first) into `sink` in `format`. Does not end the
 * sink. Resolves with the number of events written.
 */
export async function streamAuditExport(
  reader: AuditSqlReader,
  filter: AuditFilter,
  format: ExportFormat,
  sink: Writable,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const batchSize = options.batchSize ?? 2000;
  const headSeq = await readHeadSeq(reader);
  const where = (await compileAuditFilter(reader, filter))?.where ?? null;
  let index = 0;
  const fetch = (after: number): Promise<ExportRow[]> => {
    options.onBatch?.({ after, index: index++ });
    const rows = (async () =>
      reader.rows<ExportRow>(Prisma.sql`
        SELECT ${EVENT_COLUMNS} FROM "AuditEvent"
        WHERE ${where ?? Prisma.sql`FALSE`} AND "AuditEvent"."seq" > ${after} AND "AuditEvent"."seq" <= ${headSeq}
        ORDER BY "AuditEvent"."seq" ASC LIMIT ${batchSize}`))();
    // Read ahead while a batch is written: a failure meanwhile surfaces when this one is awaited.
    rows.catch(() => {});
    return rows;
  };

  let rows = 0;
  if (!(await write(sink, format === "csv" ? CSV_HEADER : "["))) return { rows, completed: false, headSeq };
  let next: Promise<ExportRow[]> | null = where ? fetch(0) : null;
  while (next) {
    const batch = await next;
    // Read the next batch while this one is formatted and written (one batch of read-ahead).
    next = batch.length === batchSize ? fetch(Number(batch[batch.length - 1]!.seq)) : null;
    if (batch.length === 0) break;
    let chunk = "";
    if (format === "csv") {
      for (const row of batch) chunk += csvRow(row);
    } else {
      // One element per line, the array's commas at the start of all but the first.
      for (const row of batch) chunk += (rows === 0 && chunk === "" ? "\n" : ",\n") + jsonRow(row);
    }
    const ok = await write(sink, chunk);
    rows += batch.length;
    if (!ok) {
      // The destination is gone: let the read in flight finish, and stop.
      await next?.catch(() => {});
      return { rows, completed: false, headSeq };
    }
  }
  if (format === "json" && !(await write(sink, rows ? "\n]\n" : "]\n"))) return { rows, completed: false, headSeq };
  return { rows, completed: true, headSeq };
}
