/**
 * `npm run bench -- audit [--events 1000000]`: the auditors' view on a large log, on PostgreSQL.
 *
 * Seeds a fresh database (created on TEST_DATABASE_URL's server, dropped afterwards) with a valid
 * hash chain of synthetic events spread over two years (20 services × 3 environments, 50 people and
 * the panel itself, ~30 actions), then measures:
 *   - query_p95_ms: a mix of the filters the audit page offers (time ranges, service, environment,
 *     actor, action prefix, free text, combinations, later pages), 60 queries through
 *     listAuditEvents — the function behind audit.list;
 *   - export_rows_per_s and export_peak_rss_mb: streamAuditExport (the function behind
 *     GET /api/v1/audit/export) writing every event as CSV into a counting sink that applies
 *     backpressure, with the process's RSS sampled every 50 ms; export_rss_growth_mb compares the
 *     peak with the RSS measured just before the export, which is what "flat" means.
 * Prints `BENCH audit events=… query_p95_ms=… export_rows_per_s=… export_peak_rss_mb=…`.
 * Goals: query p95 < 100 ms; export ≥ 50,000 rows/s with memory that does not grow with the rows.
 */
import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import pg from "pg";
import { prng } from "../test/helpers/prng.ts";
import { GENESIS_HASH, hashEvent, type ChainedFields } from "../server/audit/chain.ts";
import { streamAuditExport } from "../server/audit/export.ts";
import { auditPageInput, listAuditEvents, sessionReader, type AuditFilter } from "../server/audit/query.ts";
import { verifyAuditChain } from "../server/audit/verify.ts";
import { testEnvironment } from "../server/config.ts";
import { adminQuery } from "./scratch-database.ts";
import type { PrismaClient } from "../server/db/generated/client.ts";
import { migrateDatabase, openDatabase } from "../server/db/open.ts";
import { benchLine, percentile } from "./stats.ts";

export interface AuditBenchOptions {
  /** How many events to seed (default 1,000,000). */
  events?: number;
  /** Filtered queries to time (default 60). */
  queries?: number;
  /** Also time a full verification of the chain (default false: it is not one of the goals). */
  verify?: boolean;
  /** PostgreSQL server to create the scratch database on (default: TEST_DATABASE_URL). */
  databaseUrl?: string;
  /** Progress lines on stderr (default true). */
  progress?: boolean;
}

// ─── Synthetic data ─────────────────────────────────────────────────────────────────────────────

/** A UUID-shaped id derived from a label, stable across runs. */
function stableId(label: string): string {
  const h = createHash("sha256").update(label).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface SyntheticWorld {
  services: { id: string; name: string; environments: { id: string; name: string }[] }[];
  actors: { id: string; email: string; roles: string[] }[];
}

export function syntheticWorld(): SyntheticWorld {
  const envNames = ["development", "staging", "production"];
  const services = Array.from({ length: 20 }, (_, i) => {
    const name = `service-${String(i + 1).padStart(2, "0")}`;
    return {
      id: stableId(`service:${name}`),
      name,
      environments: envNames.map((env) => ({ id: stableId(`env:${name}:${env}`), name: env })),
    };
  });
  const roleSets = [
    ["release_manager"],
    ["approver"],
    ["release_manager", "approver"],
    ["oncall"],
    ["viewer"],
    ["auditor"],
    ["admin"],
    ["cto"],
    ["security_reviewer"],
    ["business_stakeholder"],
  ];
  const actors = Array.from({ length: 50 }, (_, i) => {
    const n = String(i + 1).padStart(2, "0");
    return { id: stableId(`user:${n}`), email: `person${n}@example.test`, roles: roleSets[i % roleSets.length]! };
  });
  return { services, actors };
}

type Scope = "env" | "service" | "none";
/** Actions with their weight in the mix, the entity they concern and how they are scoped. */
const ACTIONS: { action: string; weight: number; entityType: string; scope: Scope }[] = [
  { action: "deployment.started", weight: 6, entityType: "Deployment", scope: "env" },
  { action: "deployment.step_advanced", weight: 14, entityType: "Deployment", scope: "env" },
  { action: "deployment.succeeded", weight: 5, entityType: "Deployment", scope: "env" },
  { action: "deployment.paused", weight: 1, entityType: "Deployment", scope: "env" },
  { action: "deployment.resumed", weight: 1, entityType: "Deployment", scope: "env" },
  { action: "deployment.promoted", weight: 1, entityType: "Deployment", scope: "env" },
  { action: "deployment.rolled_back", weight: 1, entityType: "Deployment", scope: "env" },
  { action: "deployment.aborted", weight: 0.3, entityType: "Deployment", scope: "env" },
  { action: "release.created", weight: 4, entityType: "Release", scope: "service" },
  { action: "change_request.created", weight: 3, entityType: "ChangeRequest", scope: "env" },
  { action: "change_request.revised", weight: 0.5, entityType: "ChangeRequest", scope: "env" },
  { action: "approval.granted", weight: 5, entityType: "Approval", scope: "env" },
  { action: "approval.rejected", weight: 0.5, entityType: "Approval", scope: "env" },
  { action: "checklist.item_completed", weight: 8, entityType: "ChecklistItem", scope: "env" },
  { action: "checklist.evidence_posted", weight: 6, entityType: "ChecklistItem", scope: "env" },
  { action: "environment.policy_updated", weight: 0.5, entityType: "Environment", scope: "env" },
  { action: "environment.thresholds_updated", weight: 0.3, entityType: "Environment", scope: "env" },
  { action: "environment.traffic_generator_set", weight: 0.5, entityType: "Environment", scope: "env" },
  { action: "emergency.requested", weight: 0.1, entityType: "EmergencyRequest", scope: "service" },
  { action: "emergency.authorized", weight: 0.08, entityType: "EmergencyRequest", scope: "service" },
  { action: "maintenance.window_created", weight: 0.1, entityType: "MaintenanceWindowRule", scope: "none" },
  { action: "auth.signin", weight: 25, entityType: "User", scope: "none" },
  { action: "auth.signin_failed", weight: 3, entityType: "User", scope: "none" },
  { action: "auth.forbidden", weight: 2, entityType: "Procedure", scope: "none" },
  { action: "user.created", weight: 0.3, entityType: "User", scope: "none" },
  { action: "user.updated", weight: 0.5, entityType: "User", scope: "none" },
  { action: "user.password_reset", weight: 0.1, entityType: "User", scope: "none" },
  { action: "service.created", weight: 0.01, entityType: "Service", scope: "none" },
  { action: "audit.exported", weight: 0.05, entityType: "AuditLog", scope: "none" },
];
export const SYNTHETIC_ACTIONS = ACTIONS.map((a) => a.action);

const STATUSES = [
  "preparing",
  "deploying_green",
  "smoke_testing",
  "shifting",
  "validating",
  "succeeded",
  "rolled_back",
];
const TWO_YEARS_MS = 730 * 24 * 3600 * 1000;

/**
 * Yields a valid chain of `count` events, oldest first, from `startSeq + 1` after `prevHash`, spread
 * evenly (with jitter, but never backwards in time) from `from` to `to`.
 */
export function* syntheticChain(
  count: number,
  options: { world?: SyntheticWorld; from?: Date; to?: Date; seed?: number; startSeq?: number; prevHash?: string } = {},
): Generator<ChainedFields & { prevHash: string; hash: string }> {
  const world = options.world ?? syntheticWorld();
  const to = (options.to ?? new Date()).getTime();
  const from = (options.from ?? new Date(to - TWO_YEARS_MS)).getTime();
  const random = prng(options.seed ?? 42);
  const totalWeight = ACTIONS.reduce((n, a) => n + a.weight, 0);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");
  let prevHash = options.prevHash ?? GENESIS_HASH;
  let last = from;
  const step = (to - from) / Math.max(1, count);
  for (let i = 0; i < count; i++) {
    let r = random() * totalWeight;
    const kind = ACTIONS.find((a) => (r -= a.weight) < 0) ?? ACTIONS[0]!;
    const service = pick(world.services);
    const env = pick(service.environments);
    const system =
      kind.action.startsWith("deployment.step") ||
      kind.action === "deployment.succeeded" ||
      (kind.action === "checklist.evidence_posted" && random() < 0.8);
    const actor = system ? null : pick(world.actors);
    const at = Math.max(last, Math.round(from + i * step + (random() - 0.5) * step));
    last = at;
    const entityId =
      kind.entityType === "User" && actor ? actor.id : stableId(`${kind.entityType}:${Math.floor(random() * 200_000)}`);
    const version = `${1 + Math.floor(random() * 4)}.${Math.floor(random() * 30)}.${Math.floor(random() * 10)}`;
    const before =
      kind.entityType === "Deployment"
        ? { status: pick(STATUSES), stepIndex: Math.floor(random() * 4) }
        : kind.action.endsWith("updated")
          ? { note: `previous value ${hex(6)}` }
          : null;
    const after =
      kind.entityType === "Deployment"
        ? {
            status: pick(STATUSES),
            stepIndex: Math.floor(random() * 4),
            weight: pick([0, 10, 25, 50, 100]),
            version,
            release: `${service.name}@${version}`,
          }
        : kind.entityType === "Approval"
          ? {
              role: pick(["approver", "security_reviewer", "business_stakeholder", "cto"]),
              decision: kind.action.endsWith("rejected") ? "rejected" : "approved",
              reason: random() < 0.3 ? `Looks good, ticket OPS-${Math.floor(random() * 9000) + 1000}` : null,
              revision: 1,
            }
          : kind.entityType === "ChecklistItem"
            ? {
                key: pick(["tests", "security-scan", "load-test", "runbook", "rollback-plan"]),
                done: true,
                evidence: kind.action.endsWith("posted")
                  ? { status: "passed", url: `https://ci.example.test/build/${Math.floor(random() * 1e6)}` }
                  : null,
              }
            : kind.action.startsWith("auth.")
              ? {
                  roles: actor?.roles ?? [],
                  userAgent: pick(["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Macintosh)", "curl/8.5.0"]),
                }
              : {
                  name: `${service.name} ${kind.entityType.toLowerCase()}`,
                  version,
                  ticket: `CHG-${Math.floor(random() * 90000) + 10000}`,
                };
    const fields: ChainedFields = {
      seq: (options.startSeq ?? 0) + i + 1,
      at: new Date(at),
      actorId: actor?.id ?? null,
      actorEmail: actor?.email ?? "system",
      actorRoles: actor?.roles ?? [],
      action: kind.action,
      entityType: kind.entityType,
      entityId,
      before,
      after,
      ip: actor ? `10.${Math.floor(random() * 4)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}` : null,
      traceId: hex(32),
      serviceId: kind.scope === "none" ? null : service.id,
      environmentId: kind.scope === "env" ? env.id : null,
    };
    const hash = hashEvent(prevHash, fields);
    yield { ...fields, prevHash, hash };
    prevHash = hash;
  }
}

/** One multi-row INSERT per batch: every column as an array, unnested on the server. */
const INSERT_SQL = `INSERT INTO "AuditEvent" ("seq","at","actorId","actorEmail","actorRoles","action","entityType","entityId","before","after","ip","traceId","serviceId","environmentId","prevHash","hash")
SELECT s, a, ai, ae, ar::text[], ac, et, ei, b::jsonb, af::jsonb, ip, tr, sv, ev, ph, h
FROM unnest($1::bigint[], $2::timestamp[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
  AS t(s, a, ai, ae, ar, ac, et, ei, b, af, ip, tr, sv, ev, ph, h)`;

function pgTextArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;
}

/**
 * Appends `count` synthetic events to the log of the database at `url` (whose chain must be empty or
 * end where `options.startSeq`/`prevHash` say) and moves the chain head to the last one.
 */
export async function seedAuditEvents(
  url: string,
  count: number,
  options: { from?: Date; to?: Date; seed?: number; batch?: number; onProgress?: (done: number) => void } = {},
): Promise<{ lastSeq: number; lastHash: string }> {
  const client = new pg.Client({ connectionString: url, application_name: "greenlight-bench-seed" });
  await client.connect();
  try {
    const [head] = (
      await client.query<{ seq: string; hash: string }>(`SELECT seq::text, hash FROM "AuditChainHead" WHERE id = 1`)
    ).rows;
    if (!head) throw new Error("The audit chain head is missing: migrations have not been applied");
    const batchSize = options.batch ?? 10_000;
    const chain = syntheticChain(count, {
      from: options.from,
      to: options.to,
      seed: options.seed,
      startSeq: Number(head.seq),
      prevHash: head.hash,
    });
    let lastSeq = Number(head.seq);
    let lastHash = head.hash;
    let done = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const columns = () => Array.from({ length: 16 }, () => [] as unknown[]);
    let cols = columns();
    let n = 0;
    // The next batch is built (and hashed) in JS while the server stores the previous one.
    const flush = async () => {
      await pending;
      const batch = cols;
      const size = n;
      cols = columns();
      n = 0;
      pending = client.query(INSERT_SQL, batch).then(() => options.onProgress?.((done += size)));
    };
    for (const e of chain) {
      const values = [
        e.seq,
        e.at.toISOString(),
        e.actorId,
        e.actorEmail,
        pgTextArray(e.actorRoles),
        e.action,
        e.entityType,
        e.entityId,
        e.before == null ? null : JSON.stringify(e.before),
        e.after == null ? null : JSON.stringify(e.after),
        e.ip,
        e.traceId,
        e.serviceId ?? null,
        e.environmentId ?? null,
        e.prevHash,
        e.hash,
      ];
      for (let c = 0; c < 16; c++) cols[c]!.push(values[c]);
      lastSeq = e.seq;
      lastHash = e.hash;
      if (++n >= batchSize) await flush();
    }
    if (n > 0) await flush();
    await pending;
    await client.query(`UPDATE "AuditChainHead" SET seq = $1, hash = $2 WHERE id = 1`, [lastSeq, lastHash]);
    return { lastSeq, lastHash };
  } finally {
    await client.end();
  }
}

/**
 * Appends `count` synthetic events through Prisma (PGlite or PostgreSQL; slower than
 * seedAuditEvents, for tests), continuing the chain from its head, and moves the head.
 */
export async function appendSyntheticEvents(
  prisma: PrismaClient,
  count: number,
  options: { from?: Date; to?: Date; seed?: number; world?: SyntheticWorld } = {},
): Promise<{ firstSeq: number; lastSeq: number; lastHash: string }> {
  const head = await prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
  // Times never go backwards along the chain (record.ts): start no earlier than the newest event.
  const newest = await prisma.auditEvent.findUnique({ where: { seq: head.seq }, select: { at: true } });
  const to = options.to ?? new Date();
  const from = options.from ?? newest?.at ?? new Date(to.getTime() - TWO_YEARS_MS);
  if (newest && from < newest.at)
    throw new Error(
      `Synthetic events from ${from.toISOString()} would go back in time: the newest event is from ${newest.at.toISOString()}`,
    );
  if (to < from)
    throw new Error(`Synthetic events cannot end (${to.toISOString()}) before they start (${from.toISOString()})`);
  const rows = [...syntheticChain(count, { ...options, from, to, startSeq: Number(head.seq), prevHash: head.hash })];
  for (let i = 0; i < rows.length; i += 1000) {
    await prisma.auditEvent.createMany({
      data: rows.slice(i, i + 1000).map((e) => ({
        ...e,
        seq: BigInt(e.seq),
        before: e.before == null ? undefined : e.before,
        after: e.after == null ? undefined : e.after,
        serviceId: e.serviceId ?? null,
        environmentId: e.environmentId ?? null,
      })),
    });
  }
  const last = rows[rows.length - 1];
  if (last) await prisma.auditChainHead.update({ where: { id: 1 }, data: { seq: BigInt(last.seq), hash: last.hash } });
  return { firstSeq: Number(head.seq) + 1, lastSeq: last?.seq ?? Number(head.seq), lastHash: last?.hash ?? head.hash };
}

// ─── The benchmark ──────────────────────────────────────────────────────────────────────────────

/** A Writable that counts what it is given and drains like a client on a fast network would. */
export class CountingSink extends Writable {
  bytes = 0;
  constructor() {
    super({ highWaterMark: 64 * 1024, decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    setImmediate(callback);
  }
}

type Scenario = { name: string; filter: (r: () => number) => AuditFilter; pages?: number };

/** The filters people use on the audit page, with parameters drawn at random. */
function scenarios(world: SyntheticWorld, now: number): Scenario[] {
  const day = 24 * 3600 * 1000;
  const pick = <T>(r: () => number, list: readonly T[]) => list[Math.floor(r() * list.length)]!;
  const service = (r: () => number) => pick(r, world.services);
  const monthAgo = (r: () => number, months: number) => {
    const end = now - Math.floor(r() * months * 30) * day;
    return { from: new Date(end - 30 * day), to: new Date(end) };
  };
  return [
    { name: "everything (first page)", filter: () => ({}) },
    { name: "everything, page 3", filter: () => ({}), pages: 3 },
    { name: "last 24 hours", filter: () => ({ from: new Date(now - day) }) },
    { name: "last 7 days, page 2", filter: () => ({ from: new Date(now - 7 * day) }), pages: 2 },
    { name: "a month, up to two years ago", filter: (r) => monthAgo(r, 23) },
    {
      name: "a quarter a year ago",
      filter: () => ({ from: new Date(now - 455 * day), to: new Date(now - 365 * day) }),
    },
    { name: "a service", filter: (r) => ({ serviceId: service(r).id }) },
    { name: "a service, page 2", filter: (r) => ({ serviceId: service(r).id }), pages: 2 },
    {
      name: "a service and environment",
      filter: (r) => {
        const s = service(r);
        return { serviceId: s.id, environmentId: pick(r, s.environments).id };
      },
    },
    {
      name: "an environment, a month",
      filter: (r) => ({ environmentId: pick(r, service(r).environments).id, ...monthAgo(r, 23) }),
    },
    { name: "an actor by e-mail", filter: (r) => ({ actor: pick(r, world.actors).email }) },
    { name: "an actor by id, a month", filter: (r) => ({ actor: pick(r, world.actors).id, ...monthAgo(r, 23) }) },
    {
      name: "an actor in an environment",
      filter: (r) => ({ actor: pick(r, world.actors).email, environmentId: pick(r, service(r).environments).id }),
    },
    {
      name: "action prefix",
      filter: (r) => ({
        action: pick(r, ["deployment.", "approval.", "auth.", "checklist.", "emergency.", "user.", "change_request."]),
      }),
    },
    {
      name: "exact action",
      filter: (r) => ({
        action: pick(r, [
          "deployment.rolled_back",
          "approval.rejected",
          "emergency.authorized",
          "user.password_reset",
          "service.created",
        ]),
      }),
    },
    {
      name: "service and action prefix",
      filter: (r) => ({ serviceId: service(r).id, action: pick(r, ["deployment.", "approval.", "emergency."]) }),
    },
    {
      name: "text (common word)",
      filter: (r) => ({ text: pick(r, ["rolled_back", "security-scan", "person07", "curl/"]) }),
    },
    { name: "text in a month", filter: (r) => ({ text: `OPS-${1000 + Math.floor(r() * 9000)}`, ...monthAgo(r, 23) }) },
    {
      name: "text in an environment, 90 days",
      filter: (r) => ({
        text: `CHG-${10000 + Math.floor(r() * 90000)}`,
        environmentId: pick(r, service(r).environments).id,
        from: new Date(now - 90 * day),
      }),
    },
    {
      name: "everything combined",
      filter: (r) => ({
        serviceId: service(r).id,
        actor: pick(r, world.actors).email,
        action: "deployment.",
        from: new Date(now - 365 * day),
      }),
    },
  ];
}

export async function runAuditBench(options: AuditBenchOptions = {}): Promise<string> {
  const events = options.events ?? 1_000_000;
  const queries = options.queries ?? 60;
  const progress =
    options.progress === false ? () => {} : (line: string) => process.stderr.write(`[audit bench] ${line}\n`);
  const adminUrl = options.databaseUrl ?? testEnvironment().databaseUrl;
  if (!adminUrl) {
    throw new Error(
      "The audit benchmark runs on PostgreSQL: set TEST_DATABASE_URL (e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test). It creates a scratch database on that server and drops it afterwards.",
    );
  }
  const name = `greenlight_bench_audit_${randomBytes(5).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ kind: "postgres", url: url.toString() }).catch(async (error) => {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    throw error;
  });
  try {
    await migrateDatabase(db);
    const world = syntheticWorld();
    const now = Date.now();
    const seedStarted = performance.now();
    let reported = 0;
    await seedAuditEvents(url.toString(), events, {
      to: new Date(now),
      onProgress: (done) => {
        if (done - reported >= 100_000 || done === events) {
          reported = done;
          progress(`seeded ${done} events in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s`);
        }
      },
    });
    await adminQuery(url.toString(), `VACUUM ANALYZE "AuditEvent"`);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // Filtered queries, through the function behind audit.list. One round to warm the cache, then
    // the timed ones; a "page n" scenario times the request for page n.
    const all = scenarios(world, now);
    const random = prng(7);
    const timeScenario = async (s: Scenario) => {
      const filter = s.filter(random);
      let cursor: number | undefined;
      for (let page = 1; page < (s.pages ?? 1); page++) {
        cursor =
          (await listAuditEvents(db.prisma, auditPageInput.parse({ filter, cursor, limit: 50 }))).nextCursor ??
          undefined;
        if (cursor === undefined) break;
      }
      const started = performance.now();
      await listAuditEvents(db.prisma, auditPageInput.parse({ filter, cursor, limit: 50 }));
      return performance.now() - started;
    };
    for (const s of all) await timeScenario(s);
    const times: number[] = [];
    const byScenario = new Map<string, number[]>();
    for (let i = 0; i < queries; i++) {
      const s = all[i % all.length]!;
      const ms = await timeScenario(s);
      times.push(ms);
      byScenario.set(s.name, [...(byScenario.get(s.name) ?? []), ms]);
    }
    for (const [scenario, ms] of byScenario)
      progress(`${scenario.padEnd(34)} ${ms.map((m) => m.toFixed(1)).join(" / ")} ms`);
    // Not in the mix: a word that occurs nowhere, over the whole log, reads every event.
    const unscoped: number[] = [];
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      await listAuditEvents(db.prisma, auditPageInput.parse({ filter: { text: `no-such-word-${i}` } }));
      unscoped.push(performance.now() - started);
    }
    progress(`text over the whole log (not in the mix) ${unscoped.map((m) => m.toFixed(0)).join(" / ")} ms`);

    // The export of every event, as GET /api/v1/audit/export does it, into a counting sink.
    const session = await db.openSession();
    let exported = 0;
    let exportSeconds = 0;
    let peakRss = 0;
    let baselineRss = 0;
    const rssAt: number[] = [];
    try {
      (globalThis as { gc?: () => void }).gc?.();
      baselineRss = process.memoryUsage().rss;
      peakRss = baselineRss;
      const sampler = setInterval(() => {
        const rss = process.memoryUsage().rss;
        peakRss = Math.max(peakRss, rss);
        rssAt.push(rss);
      }, 50);
      const sink = new CountingSink();
      const started = performance.now();
      try {
        const result = await streamAuditExport(sessionReader(session), {}, "csv", sink);
        exported = result.rows;
      } finally {
        clearInterval(sampler);
      }
      exportSeconds = (performance.now() - started) / 1000;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      progress(
        `exported ${exported} events (${(sink.bytes / 1e6).toFixed(0)} MB of CSV) in ${exportSeconds.toFixed(1)} s`,
      );
    } finally {
      await session.close();
    }
    const mb = (bytes: number) => bytes / (1024 * 1024);
    // Flat: the RSS in the last quarter of the export against the first quarter.
    const quarter = Math.max(1, Math.floor(rssAt.length / 4));
    const firstQuarter = Math.max(...rssAt.slice(0, quarter));
    const lastQuarter = Math.max(...rssAt.slice(-quarter));

    let verify: Record<string, number> = {};
    if (options.verify) {
      const started = performance.now();
      const result = await verifyAuditChain(db.prisma);
      if (!result.ok) throw new Error(`the seeded chain does not verify: ${JSON.stringify(result.breaks.slice(0, 3))}`);
      verify = { verify_rows_per_s: result.checked / ((performance.now() - started) / 1000) };
    }

    return benchLine("audit", {
      events,
      query_p95_ms: percentile(times, 95),
      export_rows_per_s: Math.round(exported / exportSeconds),
      export_peak_rss_mb: mb(peakRss),
      queries: times.length,
      query_p50_ms: percentile(times, 50),
      query_max_ms: Math.max(...times),
      text_whole_log_ms: Math.max(...unscoped),
      export_rss_start_mb: mb(baselineRss),
      export_rss_growth_mb: mb(peakRss - baselineRss),
      export_rss_last_vs_first_quarter_mb: mb(lastQuarter - firstQuarter),
      seed_s: seedSeconds,
      ...verify,
    });
  } finally {
    await db.close();
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}
