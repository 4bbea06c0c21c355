/**
 * The overview: every service × environment at a glance (the release live there, a deployment in
 * progress and its step, the last finished deployment, pending change requests, live health, 30-day
 * availability, open alerts).
 *
 * It answers for hundreds of services in a few set-based queries, each over every environment at
 * once, and joins them in memory: the query count does not grow with the services (no N+1). The
 * bench `npm run bench -- overview` times it with 500 services × 3 environments.
 */
import { Prisma, type PrismaClient } from "./db/generated/client.ts";
import { overviewPage, type OverviewPage, type OverviewQuery } from "./overview-page.ts";
import { effectiveSteps } from "./releases/plan.ts";
import { readPolicy } from "./releases/policy.ts";
import type { LiveHealth } from "./releases/queries.ts";
import type { DeploymentStatus } from "./releases/state-machine.ts";

const LIVE_WINDOW_MS = 30_000;
const AVAILABILITY_WINDOW_MS = 30 * 24 * 3600 * 1000;

interface EnvironmentRow {
  serviceId: string;
  slug: string;
  serviceName: string;
  id: string | null;
  name: string | null;
  position: number | null;
  production: boolean | null;
  liveSlot: "blue" | "green" | null;
  liveVersion: string | null;
}

/** Services with their environments in promotion order, and the version live in each: one join. */
function environments(prisma: PrismaClient) {
  return prisma.$queryRaw<EnvironmentRow[]>`
    SELECT s."id" AS "serviceId", s."slug", s."name" AS "serviceName", e."id", e."name", e."position", e."production",
           e."liveSlot"::text AS "liveSlot", r."version" AS "liveVersion"
    FROM "Service" s
    LEFT JOIN "Environment" e ON e."serviceId" = s."id"
    LEFT JOIN "Release" r ON r."id" = e."liveReleaseId"
    ORDER BY s."name", s."id", e."position"`;
}

const activeSelect = {
  id: true,
  environmentId: true,
  status: true,
  statusDetail: true,
  stepIndex: true,
  fromReleaseId: true,
  policy: true,
  startedAt: true,
  release: { select: { version: true } },
} satisfies Prisma.DeploymentSelect;

export interface OverviewDeployment {
  id: string;
  status: DeploymentStatus;
  version: string;
}

export interface ActiveDeployment extends OverviewDeployment {
  statusDetail: string | null;
  stepIndex: number;
  /** The traffic percentages of its steps (one step, 100, for a first release). */
  steps: number[];
  /** ISO time (strings, not Dates: the page gets no per-cell superjson annotations). */
  startedAt: string;
}

export interface LastDeployment extends OverviewDeployment {
  finishedAt: string;
}

export interface PendingChanges {
  count: number;
  /** The oldest pending change request, which the cell links to. */
  oldestId: string;
}

interface HealthRow {
  environmentId: string;
  requests: bigint;
  errors: bigint;
  p95_weighted: number | null;
  p95_requests: bigint;
  last_at: Date | null;
}

/** The last 30 s of the environments' traffic (both slots), in one grouped query; a slot holding no release is not measured, only its weight counts. */
async function liveHealth(prisma: PrismaClient, ids: Prisma.Sql, now: Date): Promise<Map<string, LiveHealth>> {
  const since = new Date(now.getTime() - LIVE_WINDOW_MS);
  const [rows, weights] = await Promise.all([
    prisma.$queryRaw<HealthRow[]>`
      SELECT "environmentId", COALESCE(SUM("requests") FILTER (WHERE NOT "vacant"), 0) AS requests, COALESCE(SUM("errors") FILTER (WHERE NOT "vacant"), 0) AS errors,
             SUM("p95" * "requests") FILTER (WHERE "p95" IS NOT NULL AND "requests" > 0 AND NOT "vacant") AS p95_weighted,
             COALESCE(SUM("requests") FILTER (WHERE "p95" IS NOT NULL AND "requests" > 0 AND NOT "vacant"), 0) AS p95_requests,
             MAX("at") AS last_at
      FROM "MetricSample" WHERE "environmentId" IN (${ids}) AND "at" >= ${since} GROUP BY "environmentId"`,
    // Each environment's newest second, both slots' weights.
    prisma.$queryRaw<{ environmentId: string; slot: "blue" | "green"; weight: number }[]>`
      SELECT s."environmentId", s."slot", s."weight" FROM "MetricSample" s
      JOIN (SELECT "environmentId", MAX("at") AS at FROM "MetricSample" WHERE "environmentId" IN (${ids}) AND "at" >= ${since} GROUP BY "environmentId") l
        ON l."environmentId" = s."environmentId" AND l.at = s."at"`,
  ]);
  const weightsById = new Map<string, Partial<Record<"blue" | "green", number>>>();
  for (const w of weights)
    weightsById.set(w.environmentId, { ...weightsById.get(w.environmentId), [w.slot]: w.weight });
  const result = new Map<string, LiveHealth>();
  for (const row of rows) {
    const requests = Number(row.requests);
    const errors = Number(row.errors);
    const p95Requests = Number(row.p95_requests);
    const w = weightsById.get(row.environmentId);
    result.set(row.environmentId, {
      requests,
      errorRatePercent: requests ? Math.round((errors / requests) * 100_000) / 1000 : null,
      p95Ms: p95Requests && row.p95_weighted !== null ? Math.round(Number(row.p95_weighted) / p95Requests) : null,
      rps: Math.round((requests / (LIVE_WINDOW_MS / 1000)) * 10) / 10,
      weights: w?.blue !== undefined && w.green !== undefined ? { blue: w.blue, green: w.green } : null,
      at: row.last_at?.toISOString() ?? null,
    });
  }
  return result;
}

/**
 * The environments' 30-day availability in one query: the minutes rolled up, plus the seconds since
 * each environment's last roll-up straight from the samples (as `availability` does for one).
 */
async function availabilities(prisma: PrismaClient, ids: Prisma.Sql, now: Date): Promise<Map<string, number | null>> {
  const since = new Date(now.getTime() - AVAILABILITY_WINDOW_MS);
  const rows = await prisma.$queryRaw<{ environmentId: string; traffic: bigint | null; ok: bigint | null }[]>`
    WITH minutes AS (
      SELECT "environmentId", SUM("trafficSeconds") AS traffic, SUM("okSeconds") AS ok, MAX("at") AS until
      FROM "AvailabilityMinute" WHERE "environmentId" IN (${ids}) AND "at" >= ${since} GROUP BY "environmentId"
    ), seconds AS (
      SELECT s."environmentId", s."at", SUM(s."requests") AS req, SUM(s."errors") AS err, MAX(s."seconds") AS sec
      FROM "MetricSample" s LEFT JOIN minutes m ON m."environmentId" = s."environmentId"
      WHERE s."environmentId" IN (${ids}) AND s."at" >= COALESCE(m.until + INTERVAL '60 seconds', ${since}) AND NOT s."vacant"
      GROUP BY s."environmentId", s."at"
    ), recent AS (
      SELECT "environmentId", SUM(sec) FILTER (WHERE req > 0) AS traffic, SUM(sec) FILTER (WHERE req - err > 0) AS ok
      FROM seconds GROUP BY "environmentId"
    )
    SELECT COALESCE(m."environmentId", r."environmentId") AS "environmentId",
           COALESCE(m.traffic, 0) + COALESCE(r.traffic, 0) AS traffic, COALESCE(m.ok, 0) + COALESCE(r.ok, 0) AS ok
    FROM minutes m FULL OUTER JOIN recent r ON r."environmentId" = m."environmentId"`;
  const result = new Map<string, number | null>();
  for (const row of rows) {
    const traffic = Number(row.traffic ?? 0);
    result.set(row.environmentId, traffic ? Math.round((Number(row.ok ?? 0) / traffic) * 100_000) / 1000 : null);
  }
  return result;
}

/** Each environment's most recent finished deployment (DISTINCT ON walks the (environmentId, startedAt) index). */
async function lastFinished(prisma: PrismaClient): Promise<Map<string, LastDeployment>> {
  const rows = await prisma.$queryRaw<
    { id: string; environmentId: string; status: DeploymentStatus; finishedAt: Date; version: string }[]
  >`
    SELECT DISTINCT ON (d."environmentId") d."id", d."environmentId", d."status"::text AS status, d."finishedAt", r."version"
    FROM "Deployment" d JOIN "Release" r ON r."id" = d."releaseId"
    WHERE d."finishedAt" IS NOT NULL
    ORDER BY d."environmentId", d."startedAt" DESC`;
  return new Map(
    rows.map((r) => [
      r.environmentId,
      { id: r.id, status: r.status, version: r.version, finishedAt: r.finishedAt.toISOString() },
    ]),
  );
}

async function pendingChanges(prisma: PrismaClient): Promise<Map<string, PendingChanges>> {
  const rows = await prisma.$queryRaw<{ environmentId: string; count: bigint; oldest_id: string }[]>`
    SELECT "environmentId", COUNT(*) AS count, (ARRAY_AGG("id" ORDER BY "createdAt"))[1] AS oldest_id
    FROM "ChangeRequest" WHERE "status" = 'pending' GROUP BY "environmentId"`;
  return new Map(rows.map((r) => [r.environmentId, { count: Number(r.count), oldestId: r.oldest_id }]));
}

/**
 * One page of the overview. What decides which services match and in what order (live releases,
 * deployments, changes, alerts) is read for every environment; the traffic figures only for the
 * page's environments, after it is chosen.
 */
export async function overview(
  prisma: PrismaClient,
  query: OverviewQuery,
  now = new Date(),
): Promise<OverviewPage<OverviewService>> {
  // Sequential: PGlite runs one query at a time anyway, and on PostgreSQL seven small queries in a
  // row are cheaper than holding seven pool connections for one page.
  const rows = await environments(prisma);
  const active = await prisma.deployment.findMany({
    where: { activeEnvironmentId: { not: null } },
    select: activeSelect,
  });
  const last = await lastFinished(prisma);
  const pending = await pendingChanges(prisma);
  const alerts = await prisma.alert.findMany({
    where: { resolvedAt: null },
    orderBy: { startedAt: "desc" },
    select: {
      id: true,
      environmentId: true,
      metric: true,
      message: true,
      value: true,
      threshold: true,
      startedAt: true,
    },
  });

  const activeById = new Map(active.map((d) => [d.environmentId, d]));
  const alertsById = new Map<string, OverviewAlert[]>();
  for (const { environmentId, startedAt, ...alert } of alerts)
    alertsById.set(environmentId, [
      ...(alertsById.get(environmentId) ?? []),
      { ...alert, startedAt: startedAt.toISOString() },
    ]);
  const services: OverviewService[] = [];
  for (const row of rows) {
    let service = services[services.length - 1];
    if (service?.id !== row.serviceId) {
      service = { id: row.serviceId, slug: row.slug, name: row.serviceName, environments: [] };
      services.push(service);
    }
    if (row.id === null) continue;
    const d = activeById.get(row.id);
    service.environments.push({
      id: row.id,
      name: row.name!,
      position: row.position!,
      production: row.production!,
      liveSlot: row.liveSlot!,
      liveVersion: row.liveVersion,
      health: null,
      availabilityPercent: null,
      alerts: alertsById.get(row.id) ?? [],
      activeDeployment: d
        ? {
            id: d.id,
            status: d.status,
            version: d.release.version,
            statusDetail: d.statusDetail,
            stepIndex: d.stepIndex,
            steps: effectiveSteps({ fromReleaseId: d.fromReleaseId, policy: readPolicy(d.policy) }),
            startedAt: d.startedAt.toISOString(),
          }
        : null,
      lastDeployment: last.get(row.id) ?? null,
      pendingChanges: pending.get(row.id) ?? null,
    });
  }

  const page = overviewPage(services, query);
  const cells = page.services.flatMap((s) => s.environments);
  if (cells.length === 0) return page;
  const ids = Prisma.join(cells.map((c) => c.id));
  const health = await liveHealth(prisma, ids, now);
  const availability = await availabilities(prisma, ids, now);
  for (const cell of cells) {
    cell.health = health.get(cell.id) ?? null;
    cell.availabilityPercent = availability.get(cell.id) ?? null;
  }
  return page;
}

export interface OverviewAlert {
  id: string;
  metric: string;
  message: string;
  value: number;
  threshold: number;
  startedAt: string;
}

export interface OverviewEnvironment {
  id: string;
  name: string;
  position: number;
  production: boolean;
  liveSlot: "blue" | "green";
  liveVersion: string | null;
  /** The last 30 s of traffic; null when there was none. */
  health: LiveHealth | null;
  /** Over 30 days (target: AVAILABILITY_TARGET_PERCENT); null without traffic. */
  availabilityPercent: number | null;
  alerts: OverviewAlert[];
  activeDeployment: ActiveDeployment | null;
  lastDeployment: LastDeployment | null;
  pendingChanges: PendingChanges | null;
}

export interface OverviewService {
  id: string;
  slug: string;
  name: string;
  environments: OverviewEnvironment[];
}
