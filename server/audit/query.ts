/**
 * Reading the audit log: filtered, newest first, with cursor pagination on the sequence number. The
 * same filter (compiled once to SQL here) drives the page, the export and the benchmark, on
 * PostgreSQL and PGlite alike.
 *
 * How each filter stays fast on millions of events:
 * - time range: event times never go backwards along the chain (record.ts), so a time range is
 *   also a range of sequence numbers. Two probes of the `at` index find sequence numbers safely
 *   outside the range (an hour beyond it, for events written before that rule, whose times could
 *   lag by a clock's skew), and the query scans only between them;
 * - service, environment, actor: indexed equality (the actor is an id or an e-mail);
 * - action prefix: the few distinct actions are read with a skip scan of the action index and the
 *   prefix is matched in JS, exactly; the query then compares with a list of whole actions;
 * - free text: a case-insensitive substring match over the action, the entity, the actor and the
 *   before/after JSON. No index can serve a substring match without pg_trgm (which schema.prisma
 *   cannot express and PGlite does not load), so it is a filter on whatever the other filters
 *   leave; newest-first with a limit stops early for common words.
 */
import { z } from "zod";
import { Prisma, type PrismaClient } from "../db/generated/client.ts";

// What PostgreSQL can compare against: timestamps start in 4713 BC. (NUL characters, which it
// cannot store, are refused for every procedure by the procedure builder.)
const date = z.coerce
  .date({ error: "must be a date" })
  .min(new Date("0001-01-01T00:00:00.000Z"), "must be in the year 1 or later");
const text = (max: number) => z.string().trim().max(max, `must be at most ${max} characters`);
/** Empty strings (an untouched form field, `?actor=`) mean "no filter". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), schema.optional());

export const auditFilterInput = z
  .object({
    from: optional(date),
    to: optional(date),
    serviceId: optional(z.string().trim().uuid("must be a service id")),
    environmentId: optional(z.string().trim().uuid("must be an environment id")),
    /** A user id or an e-mail address (any case). */
    actor: optional(text(200)),
    /** The start of an action, e.g. "deployment." or "auth.signin". */
    action: optional(text(100)),
    entityType: optional(text(100)),
    entityId: optional(text(200)),
    /** Words to find anywhere in the action, the entity, the actor or the before/after snapshots. */
    text: optional(text(200)),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, { message: "must not be after 'to'", path: ["from"] });

export const auditPageInput = z.object({
  filter: auditFilterInput.default({}),
  /** The sequence number to continue below (exclusive). */
  cursor: z
    .number({ error: "must be a sequence number" })
    .int("must be a sequence number")
    .positive("must be a sequence number")
    .optional(),
  limit: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(500, "must be at most 500")
    .default(50),
});

export type AuditFilter = z.infer<typeof auditFilterInput>;
export type AuditPageInput = z.infer<typeof auditPageInput>;

/** Runs a compiled query: through Prisma (pages) or a plain SQL session (exports). */
export interface AuditSqlReader {
  rows<T>(query: Prisma.Sql): Promise<T[]>;
}

export function prismaReader(prisma: Pick<PrismaClient, "$queryRaw">): AuditSqlReader {
  return { rows: <T>(query: Prisma.Sql) => prisma.$queryRaw<T[]>(query) };
}

export function sessionReader(session: { query<T>(sql: string, params?: unknown[]): Promise<T[]> }): AuditSqlReader {
  return { rows: <T>(query: Prisma.Sql) => session.query<T>(query.text, query.values) };
}

/**
 * How far an event written before times were kept in order could lag its predecessor (clock skew
 * between panel instances). Time ranges are widened by this much when turned into sequence numbers;
 * the exact time condition still applies.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 60 * 60 * 1000;

/** `%text%` for LIKE, with LIKE's own wildcards and escape character taken literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const YEAR_ONE = Date.parse("0001-01-01T00:00:00.000Z");
/** The latest time a JS Date can hold. */
const MAX_TIME = 8.64e15;
/** A time as PostgreSQL reads it (years past 9999 without the "+" JavaScript writes before them). */
const iso = (d: Date | number) =>
  new Date(Math.min(MAX_TIME, typeof d === "number" ? d : d.getTime())).toISOString().replace(/^\+/, "");

/** Every distinct action in the log, by a skip scan of the (action, at) index: one probe per action. */
export async function distinctActions(reader: AuditSqlReader): Promise<string[]> {
  const rows = await reader.rows<{ action: string }>(Prisma.sql`
    WITH RECURSIVE a(action) AS (
      SELECT min("action") FROM "AuditEvent"
      UNION ALL
      SELECT (SELECT min("action") FROM "AuditEvent" WHERE "action" > a.action) FROM a WHERE a.action IS NOT NULL
    )
    SELECT action FROM a WHERE action IS NOT NULL`);
  return rows.map((r) => r.action);
}

/**
 * Sequence numbers outside a time range: every event in [from, to] has after < seq < before.
 * Sound because times never go backwards along the chain by more than CLOCK_SKEW_ALLOWANCE_MS.
 */
async function seqBounds(
  reader: AuditSqlReader,
  from: Date | undefined,
  to: Date | undefined,
): Promise<{ after: number | null; before: number | null }> {
  // Nothing is older than the year 1 (where PostgreSQL's calendar, and the filter's, begin).
  const below =
    from && from.getTime() - CLOCK_SKEW_ALLOWANCE_MS >= YEAR_ONE ? iso(from.getTime() - CLOCK_SKEW_ALLOWANCE_MS) : null;
  const above = to ? iso(to.getTime() + CLOCK_SKEW_ALLOWANCE_MS) : null;
  const [row] = await reader.rows<{ after: string | null; before: string | null }>(Prisma.sql`
    SELECT
      ${below === null ? Prisma.sql`NULL::text` : Prisma.sql`(SELECT seq::text FROM "AuditEvent" WHERE "at" < ${below}::timestamp ORDER BY "at" DESC LIMIT 1)`} AS "after",
      ${above === null ? Prisma.sql`NULL::text` : Prisma.sql`(SELECT seq::text FROM "AuditEvent" WHERE "at" > ${above}::timestamp ORDER BY "at" ASC LIMIT 1)`} AS "before"`);
  return { after: row?.after ? Number(row.after) : null, before: row?.before ? Number(row.before) : null };
}

/** The columns free text looks in. */
const TEXT_COLUMN_NAMES = ['"action"', '"entityType"', '"entityId"', '"actorEmail"', '"actorId"'];
const JSON_COLUMN_NAMES = ['"before"::text', '"after"::text'];
const TEXT_COLUMNS = Prisma.raw(TEXT_COLUMN_NAMES.join(", "));
const JSON_COLUMNS = Prisma.raw(JSON_COLUMN_NAMES.join(", "));
/** Joins the columns into one string to match once per row (about twice as fast as one ILIKE per column). */
const SEPARATOR = "\u0001";

function textCondition(text: string): Prisma.Sql {
  // An ASCII search compares under the "C" collation, whose ILIKE folds ASCII letters only and is
  // several times faster; a search with other letters folds them too, under the database's collation.
  const collate = Prisma.raw(/^[\x20-\x7e]*$/.test(text) ? ' COLLATE "C"' : "");
  const plain = likePattern(text);
  // Inside the JSON text a quote, a backslash or a control character is escaped: look for the
  // escaped form there.
  const escaped = likePattern(JSON.stringify(text).slice(1, -1));
  if (text.includes(SEPARATOR)) {
    // Joined columns could match across the separator: one comparison per column instead.
    const arms = [
      ...TEXT_COLUMN_NAMES.map((c) => Prisma.sql`${Prisma.raw(c)}${collate} ILIKE ${plain}`),
      ...JSON_COLUMN_NAMES.map((c) => Prisma.sql`${Prisma.raw(c)}${collate} ILIKE ${escaped}`),
    ];
    return Prisma.sql`(${Prisma.join(arms, " OR ")})`;
  }
  if (escaped === plain)
    return Prisma.sql`concat_ws(E'\\x01', ${TEXT_COLUMNS}, ${JSON_COLUMNS})${collate} ILIKE ${plain}`;
  return Prisma.sql`(concat_ws(E'\\x01', ${TEXT_COLUMNS})${collate} ILIKE ${plain} OR concat_ws(E'\\x01', ${JSON_COLUMNS})${collate} ILIKE ${escaped})`;
}

export interface CompiledFilter {
  /** The condition on "AuditEvent". */
  where: Prisma.Sql;
  /** Sequence numbers the matching events lie strictly between (from the time range), if known. */
  seqAfter: number | null;
  seqBefore: number | null;
  /** Whether the filter includes free text, the one condition no index serves. */
  scans: boolean;
}

/**
 * The filter as a SQL condition on "AuditEvent", or null when it can match nothing (an action
 * prefix no event has). Reads the database to resolve action prefixes and time ranges.
 */
export async function compileAuditFilter(reader: AuditSqlReader, filter: AuditFilter): Promise<CompiledFilter | null> {
  const and: Prisma.Sql[] = [];
  let bounds: { after: number | null; before: number | null } = { after: null, before: null };
  if (filter.from) and.push(Prisma.sql`"at" >= ${iso(filter.from)}::timestamp`);
  if (filter.to) and.push(Prisma.sql`"at" <= ${iso(filter.to)}::timestamp`);
  if (filter.from || filter.to) {
    bounds = await seqBounds(reader, filter.from, filter.to);
    if (bounds.after !== null) and.push(Prisma.sql`"seq" > ${bounds.after}`);
    if (bounds.before !== null) and.push(Prisma.sql`"seq" < ${bounds.before}`);
  }
  if (filter.serviceId) and.push(Prisma.sql`"serviceId" = ${filter.serviceId}`);
  if (filter.environmentId) and.push(Prisma.sql`"environmentId" = ${filter.environmentId}`);
  if (filter.actor) {
    // E-mail addresses are stored in lower case (users.ts), as written or lowered here. A value with
    // an @ is an e-mail address, never a user id (a UUID): comparing only the e-mail column lets the
    // planner combine its index with the other filters' ("system" is the panel itself).
    const emails = [...new Set([filter.actor, filter.actor.toLowerCase()])];
    const email =
      emails.length === 1 ? Prisma.sql`"actorEmail" = ${emails[0]}` : Prisma.sql`"actorEmail" = ANY(${emails}::text[])`;
    and.push(filter.actor.includes("@") ? email : Prisma.sql`("actorId" = ${filter.actor} OR ${email})`);
  }
  if (filter.action) {
    const prefix = filter.action;
    const actions = (await distinctActions(reader)).filter((a) => a.startsWith(prefix));
    if (actions.length === 0) return null;
    and.push(
      actions.length === 1 ? Prisma.sql`"action" = ${actions[0]}` : Prisma.sql`"action" = ANY(${actions}::text[])`,
    );
  }
  if (filter.entityType) and.push(Prisma.sql`"entityType" = ${filter.entityType}`);
  if (filter.entityId) and.push(Prisma.sql`"entityId" = ${filter.entityId}`);
  if (filter.text) and.push(textCondition(filter.text));
  return {
    where: and.length ? Prisma.join(and, " AND ") : Prisma.sql`TRUE`,
    seqAfter: bounds.after,
    seqBefore: bounds.before,
    scans: Boolean(filter.text),
  };
}

export async function readHeadSeq(reader: AuditSqlReader): Promise<number> {
  const [head] = await reader.rows<{ seq: string }>(
    Prisma.sql`SELECT seq::text AS seq FROM "AuditChainHead" WHERE id = 1`,
  );
  return Number(head?.seq ?? 0);
}

/** One event as pages show it. */
export interface AuditEventView {
  seq: number;
  at: Date;
  actorId: string | null;
  actorEmail: string | null;
  actorRoles: string[];
  action: string;
  entityType: string;
  entityId: string | null;
  serviceId: string | null;
  environmentId: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  traceId: string | null;
  prevHash: string;
  hash: string;
}

interface PageRow extends Omit<AuditEventView, "seq" | "at" | "before" | "after"> {
  seq: string;
  at: string;
  before: string | null;
  after: string | null;
}

/** A row as EVENT_COLUMNS reads it: every column as text (or null), JSON columns as JSON text. */
export interface EventTextRow {
  seq: string;
  at: string;
  actorId: string | null;
  actorEmail: string | null;
  /** JSON array text. */
  actorRoles: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  serviceId: string | null;
  environmentId: string | null;
  /** JSON text. */
  before: string | null;
  after: string | null;
  ip: string | null;
  traceId: string | null;
  prevHash: string;
  hash: string;
}

/** The columns as text, so that both drivers hand back the same thing (times in UTC, exact JSON). */
export const EVENT_COLUMNS = Prisma.sql`"seq"::text AS "seq", to_char("at", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "at", "actorId", "actorEmail",
  array_to_json("actorRoles")::text AS "actorRoles", "action", "entityType", "entityId", "serviceId", "environmentId",
  "before"::text AS "before", "after"::text AS "after", "ip", "traceId", "prevHash", "hash"`;

type ListRow = Omit<PageRow, "actorRoles"> & { actorRoles: string };

/** The first window a free-text search looks in, in sequence numbers; each next one is 4× wider. */
const FIRST_TEXT_WINDOW = 20_000;

export async function listAuditEvents(
  prisma: PrismaClient,
  input: AuditPageInput,
  /** The first free-text window (tests make it small to cross several). */
  options: { firstTextWindow?: number } = {},
): Promise<{ events: AuditEventView[]; nextCursor: number | null }> {
  const reader = prismaReader(prisma);
  const compiled = await compileAuditFilter(reader, input.filter);
  if (!compiled) return { events: [], nextCursor: null };
  const want = input.limit + 1;
  const select = (range: Prisma.Sql, limit: number) =>
    reader.rows<ListRow>(Prisma.sql`
      SELECT ${EVENT_COLUMNS} FROM "AuditEvent"
      WHERE ${compiled.where}${range}
      ORDER BY "AuditEvent"."seq" DESC LIMIT ${limit}`);
  let rows: ListRow[];
  if (!compiled.scans) {
    rows = await select(input.cursor ? Prisma.sql` AND "seq" < ${input.cursor}` : Prisma.empty, want);
  } else {
    // Free text: look in the newest events first, in widening windows. A common word is found in
    // the first window by a short serial scan; only a rare one reads further back (where a parallel
    // scan pays off). Without the windows the planner, unable to estimate a substring match,
    // starts parallel workers even for a word in every tenth event.
    rows = [];
    let upper = Math.min(input.cursor ?? Infinity, compiled.seqBefore ?? Infinity, (await readHeadSeq(reader)) + 1);
    const floor = compiled.seqAfter ?? 0;
    for (
      let width = options.firstTextWindow ?? FIRST_TEXT_WINDOW;
      rows.length < want && upper > floor + 1;
      width *= 4
    ) {
      const lower = Math.max(floor, upper - width);
      rows.push(...(await select(Prisma.sql` AND "seq" < ${upper} AND "seq" > ${lower}`, want - rows.length)));
      upper = lower + 1;
    }
  }
  const page = rows.slice(0, input.limit).map((row): AuditEventView => ({
    ...row,
    seq: Number(row.seq),
    at: new Date(row.at),
    actorRoles: JSON.parse(row.actorRoles ?? "[]") as string[],
    before: row.before === null ? null : (JSON.parse(row.before) as unknown),
    after: row.after === null ? null : (JSON.parse(row.after) as unknown),
  }));
  return { events: page, nextCursor: rows.length > input.limit ? page[page.length - 1]!.seq : null };
}

/** The filter as plain JSON (dates as ISO strings, empty fields left out), for audit events and links. */
export function describeFilter(filter: AuditFilter): Record<string, string> {
  return Object.fromEntries(
    Object.entries(filter)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : String(v)]),
  );
}
