/**
 * Read models for the pages: the overview grid, an environment, a deployment with its timeline,
 * gates and smoke results, and metric series for the charts.
 */
import { z } from "zod";
import type { PrismaClient } from "../db/generated/client.ts";
import { notFound } from "../errors.ts";
import type { Slot } from "../targets/driver.ts";
import { describeHookTarget, rollbackHooksSchema } from "./hooks.ts";
import { effectiveSteps } from "./plan.ts";
import { alertThresholdsSchema, DEFAULT_ALERT_THRESHOLDS, readPolicy } from "./policy.ts";
import { ACTIVE, type DeploymentStatus } from "./state-machine.ts";

export const AVAILABILITY_TARGET_PERCENT = 99.9;
const LIVE_WINDOW_MS = 30_000;

export interface LiveHealth {
  requests: number;
  errorRatePercent: number | null;
  p95Ms: number | null;
  rps: number;
  weights: Record<Slot, number> | null;
  at: string | null;
}

/** The last 30 s of an environment's traffic, across both slots. */
async function liveHealth(prisma: PrismaClient, environmentIds: string[], now = new Date()): Promise<Map<string, LiveHealth>> {
  const since = new Date(now.getTime() - LIVE_WINDOW_MS);
  const rows = await prisma.metricSample.findMany({ where: { environmentId: { in: environmentIds }, at: { gte: since } }, orderBy: { at: "asc" } });
  const result = new Map<string, LiveHealth>();
  for (const id of environmentIds) {
    const mine = rows.filter((r) => r.environmentId === id);
    const requests = mine.reduce((n, r) => n + r.requests, 0);
    const errors = mine.reduce((n, r) => n + r.errors, 0);
    const withP95 = mine.filter((r) => r.p95 !== null && r.requests > 0);
    const weight = withP95.reduce((n, r) => n + r.requests, 0);
    const last = mine.length ? mine[mine.length - 1]!.at : null;
    const lastRows = last ? mine.filter((r) => r.at.getTime() === last.getTime()) : [];
    result.set(id, {
      requests,
      errorRatePercent: requests ? Math.round((errors / requests) * 100_000) / 1000 : null,
      p95Ms: weight ? Math.round(withP95.reduce((n, r) => n + r.p95! * r.requests, 0) / weight) : null,
      rps: Math.round((requests / (LIVE_WINDOW_MS / 1000)) * 10) / 10,
      weights: lastRows.length === 2 ? ({ blue: lastRows.find((r) => r.slot === "blue")!.weight, green: lastRows.find((r) => r.slot === "green")!.weight } as Record<Slot, number>) : null,
      at: last?.toISOString() ?? null,
    });
  }
  return result;
}

/** Share of seconds with traffic that had at least one successful response, over the last 30 days. */
export async function availability(prisma: PrismaClient, environmentId: string, now = new Date()): Promise<{ percent: number | null; trafficSeconds: number; target: number }> {
  const since = new Date(now.getTime() - 30 * 24 * 3600 * 1000);
  const [minutes] = await prisma.$queryRaw<{ traffic: bigint | null; ok: bigint | null; until: Date | null }[]>`
    SELECT SUM("trafficSeconds") AS traffic, SUM("okSeconds") AS ok, MAX("at") AS until FROM "AvailabilityMinute" WHERE "environmentId" = ${environmentId} AND "at" >= ${since}`;
  // Seconds not rolled up yet come straight from the per-second samples.
  const from = minutes?.until ? new Date(minutes.until.getTime() + 60_000) : since;
  const [recent] = await prisma.$queryRaw<{ traffic: bigint | null; ok: bigint | null }[]>`
    SELECT COUNT(*) FILTER (WHERE req > 0) AS traffic, COUNT(*) FILTER (WHERE req - err > 0) AS ok
    FROM (SELECT "at", SUM("requests") AS req, SUM("errors") AS err FROM "MetricSample" WHERE "environmentId" = ${environmentId} AND "at" >= ${from} GROUP BY "at") s`;
  const traffic = Number(minutes?.traffic ?? 0) + Number(recent?.traffic ?? 0);
  const ok = Number(minutes?.ok ?? 0) + Number(recent?.ok ?? 0);
  return { percent: traffic ? Math.round((ok / traffic) * 100_000) / 1000 : null, trafficSeconds: traffic, target: AVAILABILITY_TARGET_PERCENT };
}

export async function overview(prisma: PrismaClient) {
  const services = await prisma.service.findMany({
    orderBy: { name: "asc" },
    include: {
      environments: {
        orderBy: { position: "asc" },
        include: {
          liveRelease: true,
          alerts: { where: { resolvedAt: null }, orderBy: { startedAt: "desc" } },
          deployments: { where: { activeEnvironmentId: { not: null } }, include: { release: true } },
        },
      },
    },
  });
  const ids = services.flatMap((s) => s.environments.map((e) => e.id));
  const health = await liveHealth(prisma, ids);
  const availabilityById = new Map(await Promise.all(ids.map(async (id) => [id, await availability(prisma, id)] as const)));
  return services.map((service) => ({
    id: service.id,
    slug: service.slug,
    name: service.name,
    environments: service.environments.map((env) => {
      const active = env.deployments[0];
      return {
        id: env.id,
        name: env.name,
        production: env.production,
        target: env.target,
        liveSlot: env.liveSlot,
        liveVersion: env.liveRelease?.version ?? null,
        trafficGenerator: env.trafficGenerator,
        health: health.get(env.id)!,
        availability: availabilityById.get(env.id)!,
        alerts: env.alerts.map((a) => ({ id: a.id, metric: a.metric, message: a.message, value: a.value, threshold: a.threshold, startedAt: a.startedAt })),
        activeDeployment: active
          ? { id: active.id, status: active.status as DeploymentStatus, version: active.release.version, stepIndex: active.stepIndex, steps: effectiveSteps({ fromReleaseId: active.fromReleaseId, policy: readPolicy(active.policy) }), statusDetail: active.statusDetail }
          : null,
      };
    }),
  }));
}

export async function serviceDetail(prisma: PrismaClient, serviceId: string) {
  const service = await prisma.service.findUnique({
    where: { id: serviceId },
    include: {
      environments: { orderBy: { position: "asc" }, include: { liveRelease: true } },
      releases: { orderBy: { createdAt: "desc" }, take: 100, include: { deployments: { select: { environmentId: true, status: true } } } },
    },
  });
  if (!service) throw notFound(`Service ${serviceId}`);
  return {
    ...service,
    environments: service.environments.map((env) => {
      const hooks = rollbackHooksSchema.safeParse(env.rollbackHooks);
      const thresholds = alertThresholdsSchema.safeParse(env.alertThresholds);
      return {
        ...env,
        policy: readPolicy(env.policy, env.production),
        alertThresholds: thresholds.success ? thresholds.data : DEFAULT_ALERT_THRESHOLDS,
        // Hook URLs may hold credentials: pages see where they point, not the secrets.
        rollbackHooks: hooks.success ? hooks.data.map((h) => ({ name: h.name, kind: h.kind, target: describeHookTarget(h) })) : [],
        targetConfig: undefined,
      };
    }),
    releases: service.releases.map((r) => ({
      ...r,
      succeededIn: [...new Set(r.deployments.filter((d) => d.status === "succeeded").map((d) => d.environmentId))],
      deployments: undefined,
    })),
  };
}

export const deploymentListInput = z.object({
  serviceId: z.string().uuid("must be a service id").optional(),
  environmentId: z.string().uuid("must be an environment id").optional(),
  activeOnly: z.boolean().default(false),
  limit: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").default(50),
});

export async function listDeployments(prisma: PrismaClient, input: z.infer<typeof deploymentListInput>) {
  const rows = await prisma.deployment.findMany({
    where: {
      ...(input.environmentId ? { environmentId: input.environmentId } : {}),
      ...(input.serviceId ? { environment: { serviceId: input.serviceId } } : {}),
      ...(input.activeOnly ? { status: { in: [...ACTIVE] } } : {}),
    },
    orderBy: { startedAt: "desc" },
    take: input.limit,
    include: { release: true, environment: { include: { service: true } }, startedBy: { select: { name: true, email: true } } },
  });
  return rows.map((d) => ({
    id: d.id,
    status: d.status,
    statusDetail: d.statusDetail,
    service: d.environment.service.name,
    serviceId: d.environment.serviceId,
    environment: d.environment.name,
    environmentId: d.environmentId,
    version: d.release.version,
    stepIndex: d.stepIndex,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    startedBy: d.startedBy?.name ?? null,
    emergency: d.emergency,
    figures: d.figures,
  }));
}

export async function deploymentDetail(prisma: PrismaClient, id: string) {
  const d = await prisma.deployment.findUnique({
    where: { id },
    include: {
      release: true,
      environment: { include: { service: true } },
      startedBy: { select: { name: true, email: true } },
      events: { orderBy: { seq: "asc" } },
      smokeResults: { orderBy: [{ attempt: "asc" }, { id: "asc" }] },
      gateResults: { orderBy: [{ stepIndex: "asc" }, { gate: "asc" }] },
    },
  });
  if (!d) throw notFound(`Deployment ${id}`);
  const policy = readPolicy(d.policy, d.environment.production);
  const [latest] = await prisma.metricSample.findMany({ where: { environmentId: d.environmentId }, orderBy: { at: "desc" }, take: 2 });
  const latestWeights = latest ? await prisma.metricSample.findMany({ where: { environmentId: d.environmentId, at: latest.at } }) : [];
  return {
    id: d.id,
    status: d.status,
    statusDetail: d.statusDetail,
    outcome: d.outcome,
    commandVersion: d.commandVersion,
    service: { id: d.environment.serviceId, name: d.environment.service.name, slug: d.environment.service.slug },
    environment: { id: d.environmentId, name: d.environment.name, production: d.environment.production, target: d.environment.target },
    release: { id: d.release.id, version: d.release.version, artifact: d.release.artifact, commitSha: d.release.commitSha, notes: d.release.notes, settings: d.release.settings },
    targetSlot: d.targetSlot,
    fromSlot: d.fromSlot,
    policy,
    steps: effectiveSteps({ fromReleaseId: d.fromReleaseId, policy }),
    stepIndex: d.stepIndex,
    stepReachedAt: d.stepReachedAt,
    phaseStartedAt: d.phaseStartedAt,
    skipBake: d.skipBake,
    breachAt: d.breachAt,
    rollbackReason: d.rollbackReason,
    rollbackCompletedAt: d.rollbackCompletedAt,
    failureReason: d.failureReason,
    figures: d.figures,
    emergency: d.emergency,
    emergencyId: d.emergencyId,
    changeRequestId: d.changeRequestId,
    /** Approvals and checklist as they stood when the deployment started (production). */
    governance: d.governance,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    startedBy: d.startedBy,
    weights:
      latestWeights.length === 2 && Date.now() - latestWeights[0]!.at.getTime() < 10_000
        ? ({ blue: latestWeights.find((r) => r.slot === "blue")!.weight, green: latestWeights.find((r) => r.slot === "green")!.weight } as Record<Slot, number>)
        : null,
    events: d.events.map((e) => ({ seq: e.seq, at: e.at, kind: e.kind, message: e.message, data: e.data })),
    smokeResults: d.smokeResults.map((r) => ({ round: r.round, attempt: r.attempt, name: r.name, kind: r.kind, ok: r.ok, status: r.status, latencyMs: r.latencyMs, detail: r.detail, at: r.at })),
    gateResults: d.gateResults.map((g) => ({ stepIndex: g.stepIndex, weight: g.weight, gate: g.gate, outcome: g.outcome, observed: g.observed, threshold: g.threshold, detail: g.detail, at: g.at })),
  };
}

export const metricSeriesInput = z.object({
  environmentId: z.string().uuid("must be an environment id"),
  /** How far back, in minutes (1-second samples up to an hour, 1-minute roll-ups beyond). */
  minutes: z.number().int().min(1, "must be between 1 and 43200").max(43_200, "must be between 1 and 43200").default(15),
});

export async function metricSeries(prisma: PrismaClient, input: z.infer<typeof metricSeriesInput>, now = new Date()) {
  const since = new Date(now.getTime() - input.minutes * 60_000);
  const rows =
    input.minutes <= 60
      ? await prisma.metricSample.findMany({ where: { environmentId: input.environmentId, at: { gte: since } }, orderBy: { at: "asc" } })
      : await prisma.metricRollup.findMany({ where: { environmentId: input.environmentId, at: { gte: since } }, orderBy: { at: "asc" } });
  return {
    resolutionSeconds: input.minutes <= 60 ? 1 : 60,
    points: rows.map((r) => ({ at: r.at.toISOString(), slot: r.slot, requests: r.requests, errors: r.errors, p50: r.p50, p95: r.p95, p99: r.p99, weight: r.weight })),
  };
}
