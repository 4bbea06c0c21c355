/**
 * Fuzzing the API over HTTP (issue 10, item 17): fast-check generates inputs for every tRPC procedure
 * — shaped after the procedure's own input schema (its field names, with ids of rows that exist,
 * e-mails, links, dates where the names suggest them) and shapeless (anything JSON and superjson can
 * carry) — and sends them in batches, as the panel's own client does. Every answer's status is
 * counted; a 5xx is a finding. No test-runner imports: `npm run bench -- fuzz` uses it too.
 */
import fc from "fast-check";
import superjson from "superjson";
import { appRouter } from "../../server/trpc/root.ts";
import { sameOrigin } from "./http-auth.ts";

export interface FuzzProcedure {
  path: string;
  type: "query" | "mutation";
  /** The field names of the input object, when the input is an object. */
  keys: string[];
  /** The input schema (zod), when the procedure takes input. */
  schema?: ZodLike;
}

/** Ids of rows that exist, so that inputs reach past "not found" into the domain. */
export interface IdPool {
  ids: string[];
}

export interface FuzzCall {
  path: string;
  input: unknown;
  /** Which caller sends it: the all-roles user, a viewer, or nobody. */
  caller: "all" | "viewer" | "anonymous";
}

export interface FuzzFinding {
  path: string;
  status: number;
  input: unknown;
  message: string;
}

export interface FuzzReport {
  calls: number;
  byStatus: Record<string, number>;
  findings: FuzzFinding[];
  /** Milliseconds spent per procedure (a batch's time shared among its calls). */
  msByPath: Record<string, number>;
}

type ZodLike = {
  _zod?: {
    def?: {
      type?: string;
      shape?: Record<string, unknown>;
      in?: ZodLike;
      innerType?: ZodLike;
      options?: ZodLike[];
      left?: ZodLike;
      right?: ZodLike;
    };
  };
};

/** The field names an input schema takes (objects, and objects inside wrappers, pipes and unions). */
function keysOf(schema: ZodLike | undefined, depth = 0): string[] {
  const def = schema?._zod?.def;
  if (!def || depth > 5) return [];
  if (def.type === "object" && def.shape) return Object.keys(def.shape);
  if (def.type === "pipe") return keysOf(def.in, depth + 1);
  if (def.innerType) return keysOf(def.innerType, depth + 1);
  if (def.type === "union" && def.options) return [...new Set(def.options.flatMap((o) => keysOf(o, depth + 1)))];
  if (def.type === "intersection") return [...keysOf(def.left, depth + 1), ...keysOf(def.right, depth + 1)];
  return [];
}

/** Every procedure of the app router, with its type and its input's field names. */
export function fuzzProcedures(): FuzzProcedure[] {
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: "query" | "mutation"; inputs?: ZodLike[] } }
  >;
  return Object.entries(procedures).map(([path, p]) => ({
    path,
    type: p._def.type,
    keys: keysOf(p._def.inputs?.[0]),
    schema: p._def.inputs?.[0],
  }));
}

const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "\uDC00x",
  "😀",
  "\u202Eevil",
  "%00",
  "%E0%A4%A",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  '\'; DROP TABLE "User"; --',
  "${7*7}",
  "__proto__",
  "constructor",
  "null",
  "NaN",
  "-1",
  "1e309",
  "2026-02-30T25:61:00Z",
  "00000000-0000-0000-0000-000000000000",
  "FREQ=SECONDLY;INTERVAL=1",
  "FREQ=DAILY;COUNT=0",
  "x".repeat(1000),
];

function stringArbitrary(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...NASTY_STRINGS),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.string({ unit: "binary", maxLength: 20 }),
  );
}

function scalarArbitrary(pool: IdPool): fc.Arbitrary<unknown> {
  return fc.oneof(
    stringArbitrary(),
    fc.integer(),
    fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_SAFE_INTEGER + 2),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.bigInt(),
    pool.ids.length ? fc.constantFrom(...pool.ids) : fc.uuid(),
    fc.uuid(),
  );
}

/** Anything: scalars, arrays and objects, a few levels deep. */
function anyArbitrary(pool: IdPool): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalarArbitrary(pool),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(fc.oneof(stringArbitrary(), fc.constantFrom("id", "json", "meta", "__proto__")), tie("value"), {
        maxKeys: 4,
      }),
    ),
  }));
  return value;
}

/** A value for a named field, biased by its name towards what the field takes. */
function fieldArbitrary(key: string, pool: IdPool): fc.Arbitrary<unknown> {
  const lower = key.toLowerCase();
  const likely: fc.Arbitrary<unknown>[] = [];
  if (lower === "id" || lower.endsWith("id") || lower.endsWith("ids"))
    likely.push(
      pool.ids.length ? fc.constantFrom(...pool.ids) : fc.uuid(),
      fc.uuid(),
      fc.array(fc.uuid(), { maxLength: 3 }),
    );
  if (lower.includes("email")) likely.push(fc.emailAddress(), fc.constantFrom("not-an-email", "a@b", "A@EXAMPLE.TEST"));
  if (lower.includes("url") || lower === "link")
    likely.push(fc.webUrl(), fc.constantFrom("ftp://x", "javascript:alert(1)", "http://127.0.0.1:1/"));
  if (lower.includes("roles"))
    likely.push(
      fc.array(fc.constantFrom("viewer", "admin", "approver", "release_manager", "nobody"), { maxLength: 3 }),
    );
  if (lower === "from" || lower === "to" || lower.endsWith("at") || lower.includes("date"))
    likely.push(fc.date({ noInvalidDate: false }), fc.constantFrom("2026-01-01", "yesterday"));
  if (
    lower.includes("limit") ||
    lower.includes("count") ||
    lower.includes("minutes") ||
    lower.includes("rate") ||
    lower.includes("version")
  )
    likely.push(fc.integer({ min: -5, max: 5000 }));
  return likely.length ? fc.oneof(fc.oneof(...likely), anyArbitrary(pool)) : anyArbitrary(pool);
}

type ZodDef = {
  type?: string;
  format?: string;
  checks?: {
    _zod: { def: { check?: string; format?: string; minimum?: number; maximum?: number; value?: number | bigint } };
  }[];
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  entries?: Record<string, string | number>;
  values?: unknown[];
  options?: ZodLike[];
  innerType?: ZodLike;
  in?: ZodLike;
  valueType?: ZodLike;
  getter?: () => ZodLike;
};

/**
 * A value the schema accepts, mostly: every leaf is valid most of the time and now and then one of
 * the values that break things further in (a NUL character, a lone surrogate, a number past what a
 * column holds, an id of a row of another kind). Inputs of this shape get past validation into the
 * domain and the database, where the 500s were.
 */
function schemaArbitrary(schema: ZodLike | undefined, pool: IdPool, depth = 0): fc.Arbitrary<unknown> {
  const def = schema?._zod?.def as ZodDef | undefined;
  if (!def || depth > 6) return anyArbitrary(pool);
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  const nasty = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: scalarArbitrary(pool) });
  const bound = (name: string) => checks.find((c) => c.check === name);
  switch (def.type) {
    case "string": {
      const format = def.format ?? checks.find((c) => c.check === "string_format")?.format;
      if (format === "uuid" || format === "guid")
        return nasty(pool.ids.length ? fc.oneof(fc.constantFrom(...pool.ids), fc.uuid()) : fc.uuid());
      if (format === "email") return nasty(fc.emailAddress());
      if (format === "url") return nasty(fc.webUrl());
      if (format === "datetime" || format === "date")
        return nasty(
          fc
            .date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
            .map((d) => (format === "date" ? d.toISOString().slice(0, 10) : d.toISOString())),
        );
      const min = bound("min_length")?.minimum ?? 0;
      const max = Math.min(bound("max_length")?.maximum ?? 60, 60);
      const text = fc.string({ minLength: Math.min(min, max), maxLength: Math.max(min, max) });
      // Valid text with something nasty inside it: NUL, a lone surrogate, a bidi override.
      const spiked = fc
        .tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom("\u0000", "\uD800", "\u202E", "\uFEFF"))
        .map(([a, b]) => `${a}${b}${a}`);
      return fc.oneof(
        { weight: 10, arbitrary: text },
        { weight: 2, arbitrary: spiked },
        { weight: 1, arbitrary: stringArbitrary() },
      );
    }
    case "number": {
      const low = Number(bound("greater_than")?.value ?? -1e6);
      const high = Number(bound("less_than")?.value ?? 1e6);
      const integer = def.format === "safeint" || checks.some((c) => c.check === "number_format");
      const valid = integer
        ? fc.integer({ min: Math.ceil(Math.max(low, -2e9)), max: Math.floor(Math.min(high, 2e9)) })
        : fc.double({ min: Math.max(low, -1e12), max: Math.min(high, 1e12), noNaN: true });
      return nasty(
        fc.oneof(
          { weight: 6, arbitrary: valid },
          { weight: 1, arbitrary: fc.constantFrom(low, high, 2 ** 31, 2 ** 53, -0) },
        ),
      );
    }
    case "bigint":
      return nasty(fc.bigInt());
    case "boolean":
      return nasty(fc.boolean());
    case "date":
      return nasty(fc.date({ noInvalidDate: false }));
    case "enum":
      return nasty(fc.constantFrom(...Object.values(def.entries ?? { x: "x" })));
    case "literal":
      return nasty(fc.constantFrom(...(def.values ?? [null])));
    case "array": {
      const max = Math.min(bound("max_length")?.maximum ?? 4, 4);
      const min = Math.min(bound("min_length")?.minimum ?? 0, max);
      return nasty(fc.array(schemaArbitrary(def.element, pool, depth + 1), { minLength: min, maxLength: max }));
    }
    case "object":
      return fc.record(
        Object.fromEntries(
          Object.entries(def.shape ?? {}).map(([key, field]) => [key, schemaArbitrary(field, pool, depth + 1)]),
        ),
        {
          requiredKeys: Object.entries(def.shape ?? {})
            .filter(([, f]) => !["optional", "default", "prefault"].includes(String(f._zod?.def?.type)))
            .map(([k]) => k),
        },
      );
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "catch":
    case "readonly":
    case "nonoptional":
      return fc.oneof(
        { weight: 4, arbitrary: schemaArbitrary(def.innerType, pool, depth + 1) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      );
    case "pipe":
      return schemaArbitrary(def.in, pool, depth + 1);
    case "union":
      return fc.oneof(...(def.options ?? []).map((o) => schemaArbitrary(o, pool, depth + 1)));
    case "record":
      return fc.dictionary(fc.string({ maxLength: 12 }), schemaArbitrary(def.valueType, pool, depth + 1), {
        maxKeys: 3,
      });
    case "lazy":
      return def.getter ? schemaArbitrary(def.getter(), pool, depth + 1) : anyArbitrary(pool);
    default:
      return anyArbitrary(pool);
  }
}

/**
 * An input for one procedure: mostly one its schema accepts with now and then a nasty leaf, else an
 * object with its field names and loose values, else anything at all.
 */
export function inputArbitrary(procedure: FuzzProcedure, pool: IdPool): fc.Arbitrary<unknown> {
  if (!procedure.schema) return fc.oneof(fc.constant(undefined), anyArbitrary(pool));
  const shaped = fc.record(Object.fromEntries(procedure.keys.map((key) => [key, fieldArbitrary(key, pool)])), {
    requiredKeys: [],
  });
  const withExtra = fc
    .tuple(shaped, fc.dictionary(stringArbitrary(), anyArbitrary(pool), { maxKeys: 2 }))
    .map(([a, b]) => ({ ...b, ...a }));
  return fc.oneof(
    { weight: 6, arbitrary: schemaArbitrary(procedure.schema, pool) },
    { weight: 3, arbitrary: shaped },
    { weight: 1, arbitrary: withExtra },
    { weight: 1, arbitrary: anyArbitrary(pool) },
  );
}

/** Procedures that get no real ids: a fuzzed traffic generator at 500 req/s would measure itself, not the API. */
const WITHOUT_REAL_IDS = new Set(["environments.setTrafficGenerator"]);

/**
 * Procedures that hash or compare a password (bcrypt, on purpose slow) are called a quarter as often
 * as the rest: at the same rate they would take most of the run's time and teach it nothing new.
 */
const PASSWORD_PROCEDURES = new Set(["me.changePassword", "users.create", "users.resetPassword"]);

export function callArbitrary(procedures: FuzzProcedure[], pool: IdPool): fc.Arbitrary<FuzzCall> {
  const weighted = procedures.map((procedure) => ({
    weight: PASSWORD_PROCEDURES.has(procedure.path) ? 1 : 4,
    arbitrary: fc.constant(procedure),
  }));
  return fc.oneof(...weighted).chain((procedure) =>
    fc.record({
      path: fc.constant(procedure.path),
      input: inputArbitrary(procedure, WITHOUT_REAL_IDS.has(procedure.path) ? { ids: [] } : pool),
      // Mostly the caller who may call everything, so that inputs reach the domain; now and then
      // one who may not (403, audited) and nobody (401).
      caller: fc.oneof(
        { weight: 16, arbitrary: fc.constant<FuzzCall["caller"]>("all") },
        { weight: 1, arbitrary: fc.constant<FuzzCall["caller"]>("viewer") },
        { weight: 2, arbitrary: fc.constant<FuzzCall["caller"]>("anonymous") },
      ),
    }),
  );
}

/** `count` calls, reproducibly from `seed`. */
export function generateCalls(count: number, seed: number, pool: IdPool, procedures = fuzzProcedures()): FuzzCall[] {
  return fc.sample(callArbitrary(procedures, pool), { numRuns: count, seed });
}

/**
 * superjson's envelope, as the panel's client sends it; superjson refuses to write some values (a
 * `__proto__` key), which a hostile client sends anyway as plain JSON.
 */
function envelope(input: unknown): unknown {
  try {
    return superjson.serialize(input);
  } catch {
    return { json: input };
  }
}

/** JSON, with the bigints superjson left in a plain envelope written as strings. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

interface BatchItem {
  result?: unknown;
  error?: { json?: { message?: string; data?: { httpStatus?: number } } };
}

/**
 * Sends calls the way the panel's client batches them: one HTTP request per group of calls of the
 * same type and caller (queries by GET, mutations by POST). Queries go in small groups, since their
 * inputs travel in the URL.
 */
export async function sendCalls(
  baseUrl: string,
  calls: FuzzCall[],
  cookies: { all: string; viewer: string },
  options: { mutationBatch?: number; queryBatch?: number } = {},
): Promise<FuzzReport> {
  const types = new Map(fuzzProcedures().map((p) => [p.path, p.type]));
  const report: FuzzReport = { calls: 0, byStatus: {}, findings: [], msByPath: {} };
  const count = (status: number, call: FuzzCall, message: string) => {
    report.calls++;
    report.byStatus[String(status)] = (report.byStatus[String(status)] ?? 0) + 1;
    if (status >= 500) report.findings.push({ path: call.path, status, input: call.input, message });
  };
  const groups = new Map<string, FuzzCall[]>();
  for (const call of calls) {
    const key = `${types.get(call.path)}:${call.caller}`;
    groups.set(key, [...(groups.get(key) ?? []), call]);
  }
  for (const [key, group] of groups) {
    const [type, caller] = key.split(":") as ["query" | "mutation", FuzzCall["caller"]];
    const size = type === "query" ? (options.queryBatch ?? 16) : (options.mutationBatch ?? 50);
    for (let i = 0; i < group.length; i += size) {
      const batch = group.slice(i, i + size);
      const inputs = Object.fromEntries(batch.map((call, j) => [String(j), envelope(call.input)]));
      const headers: Record<string, string> = {
        ...sameOrigin(baseUrl),
        ...(caller === "anonymous" ? {} : { Cookie: cookies[caller] }),
      };
      const paths = batch.map((c) => c.path).join(",");
      let response: Response;
      const started = performance.now();
      const spent = () => {
        const share = (performance.now() - started) / batch.length;
        for (const call of batch) report.msByPath[call.path] = (report.msByPath[call.path] ?? 0) + share;
      };
      try {
        response =
          type === "query"
            ? await fetch(`${baseUrl}/api/trpc/${paths}?batch=1&input=${encodeURIComponent(toJson(inputs))}`, {
                headers,
              })
            : await fetch(`${baseUrl}/api/trpc/${paths}?batch=1`, {
                method: "POST",
                headers: { ...headers, "Content-Type": "application/json" },
                body: toJson(inputs),
              });
      } catch (error) {
        for (const call of batch) count(599, call, `no answer: ${(error as Error).message}`);
        continue;
      }
      const text = await response.text();
      spent();
      let items: BatchItem[] | null = null;
      try {
        const parsed = JSON.parse(text) as unknown;
        if (Array.isArray(parsed) && parsed.length === batch.length) items = parsed as BatchItem[];
      } catch {
        /* counted below by the HTTP status */
      }
      batch.forEach((call, j) => {
        const item = items?.[j];
        if (!item) return count(response.status, call, text.slice(0, 300));
        const status = item.error ? (item.error.json?.data?.httpStatus ?? response.status) : 200;
        count(status, call, item.error?.json?.message ?? "");
      });
    }
  }
  return report;
}

/** "200=812 400=6011 …" */
export function describeStatuses(byStatus: Record<string, number>): string {
  return Object.entries(byStatus)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}=${n}`)
    .join(" ");
}
