/**
 * Read models for the pages (the overview has its own module, server/overview.ts): an environment, a deployment with its timeline,
 * gates and smoke results, and metric series for the charts.
 */
import { z } from "zod";
import type { Explanation } from "./judge/judge.ts";
import type { MetricSample, PrismaClient } from "../db/generated/client.ts";
import { notFound } from "../errors.ts";
import type { Slot } from "../targets/driver.ts";
import { describeHookTarget, rollbackHooksSchema } from "./hooks.ts";
import { effectiveSteps } from "./plan.ts";
import { alertThresholdsSchema, DEFAULT_ALERT_THRESHOLDS, readPolicy } from "./policy.ts";
import { ACTIVE, availableCommands, isTerminal, type DeploymentStatus } from "./state-machine.ts";

export const AVAILABILITY_TARGET_PERCENT = 99.9;

export interface LiveHealth {
  requests: number;
  errorRatePercent: number | null;
  p95Ms: number | null;
  rps: number;
  weights: Record<Slot, number> | null;
  at: string | null;
}

/** Share of seconds with traffic that had at least one successful response, over the last 30 days. */
export async function availability(
  prisma: PrismaClient,
  environmentId: string,
  now = new Date(),
): Promise<{ percent: number | null; trafficSeconds: number; target: number }> {
  const since = new Date(now.getTime() - 30 * 24 * 3600 * 1000);
  const [minutes] = await prisma.$queryRaw<{ traffic: bigint | null; ok: bigint | null; until: Date | null }[]>`
    SELECT SUM("trafficSeconds") AS traffic, SUM("okSeconds") AS ok, MAX("at") AS until FROM "AvailabilityMinute" WHERE "environmentId" = ${environmentId} AND "at" >= ${since}`;
  // Seconds not rolled up yet come straight from the per-second samples.
  const from = minutes?.until ? new Date(minutes.until.getTime() + 60_000) : since;
  const [recent] = await prisma.$queryRaw<{ traffic: bigint | null; ok: bigint | null }[]>`
    SELECT SUM(sec) FILTER (WHERE req > 0) AS traffic, SUM(sec) FILTER (WHERE req - err > 0) AS ok
    FROM (SELECT "at", SUM("requests") AS req, SUM("errors") AS err, MAX("seconds") AS sec FROM "MetricSample" WHERE "environmentId" = ${environmentId} AND "at" >= ${from} AND NOT "vacant" GROUP BY "at") s`;
  const traffic = Number(minutes?.traffic ?? 0) + Number(recent?.traffic ?? 0);
  const ok = Number(minutes?.ok ?? 0) + Number(recent?.ok ?? 0);
  return {
    percent: traffic ? Math.round((ok / traffic) * 100_000) / 1000 : null,
    trafficSeconds: traffic,
    target: AVAILABILITY_TARGET_PERCENT,
  };
}

/** Every service, by name: the pickers' list. */
export function listServices(prisma: PrismaClient) {
  return prisma.service.findMany({
    orderBy: { name: "asc" },
    select: { id: true, name: true, slug: true, description: true },
  });
}

export const alertListInput = z.object({
  environmentId: z.string().uuid("must be an environment id").optional(),
  openOnly: z.boolean().default(false),
});

/** The latest 100 alerts, of one environment or all, open ones only if asked. */
export function listAlerts(prisma: PrismaClient, input: z.infer<typeof alertListInput>) {
  return prisma.alert.findMany({
    where: {
      ...(input.environmentId ? { environmentId: input.environmentId } : {}),
      ...(input.openOnly ? { resolvedAt: null } : {}),
    },
    orderBy: { startedAt: "desc" },
    take: 100,
    include: { environment: { select: { name: true, service: { select: { name: true } } } } },
  });
}

export async function serviceDetail(prisma: PrismaClient, serviceId: string) {
  const service = await prisma.service.findUnique({
    where: { id: serviceId },
    include: {
      environments: { orderBy: { position: "asc" }, include: { liveRelease: true } },
      releases: {
        orderBy: { createdAt: "desc" },
        take: 100,
        include: { deployments: { select: { environmentId: true, status: true } } },
      },
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
        rollbackHooks: hooks.success
          ? hooks.data.map((h) => ({ name: h.name, kind: h.kind, target: describeHookTarget(h) }))
          : [],
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
    include: {
      release: true,
      environment: { include: { service: true } },
      startedBy: { select: { name: true, email: true } },
    },
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

/** A deployment as the page shows it, with the split it runs at now. */
export async function deploymentDetail(prisma: PrismaClient, id: string) {
  return withCurrentSplit(prisma, await storedDeploymentDetail(prisma, id));
}

export type StoredDeploymentDetail = Awaited<ReturnType<typeof storedDeploymentDetail>>;

/**
 * An active deployment's split is the newest second measured (it changes every second, so it is never
 * kept with the rest); an ended one's is the split it left, already in `weights`.
 */
export async function withCurrentSplit(prisma: PrismaClient, stored: StoredDeploymentDetail) {
  if (stored.weights) return stored;
  return { ...stored, weights: await latestMeasuredWeights(prisma, stored.environment.id) };
}

/** Everything the page shows of a deployment that the database holds (see DeploymentReads). */
export async function storedDeploymentDetail(prisma: PrismaClient, id: string) {
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
  return {
    id: d.id,
    status: d.status,
    statusDetail: d.statusDetail,
    outcome: d.outcome,
    commandVersion: d.commandVersion,
    service: { id: d.environment.serviceId, name: d.environment.service.name, slug: d.environment.service.slug },
    environment: {
      id: d.environmentId,
      name: d.environment.name,
      production: d.environment.production,
      target: d.environment.target,
    },
    release: {
      id: d.release.id,
      version: d.release.version,
      artifact: d.release.artifact,
      commitSha: d.release.commitSha,
      notes: d.release.notes,
      settings: d.release.settings,
    },
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
    /**
     * The split: an ended deployment's is the one it left (the measured second may predate its last
     * change of weights); an active one's is the newest second measured (withCurrentSplit).
     */
    weights: settledWeights(d),
    /** Not ended yet: live events may still change it. */
    active: !isTerminal(d.status),
    /** The commands the deployment takes now, from the state machine. */
    commands: availableCommands(d),
    /** Whether a release was live when the deployment started (an environment's first has nothing to compare with). */
    liveRelease: d.fromReleaseId !== null,
    /** When each traffic step was set, for the charts' step boundaries. */
    stepMarks: d.events
      .filter((e) => e.kind === "step")
      .map((e) => ({ at: e.at, stepIndex: Number((e.data as { stepIndex?: number } | null)?.stepIndex ?? 0) })),
    events: d.events.map((e) => ({ seq: e.seq, at: e.at, kind: e.kind, message: e.message, data: e.data })),
    smokeResults: d.smokeResults.map((r) => ({
      round: r.round,
      attempt: r.attempt,
      name: r.name,
      kind: r.kind,
      ok: r.ok,
      status: r.status,
      latencyMs: r.latencyMs,
      detail: r.detail,
      at: r.at,
    })),
    gateResults: d.gateResults.map((g) => ({
      stepIndex: g.stepIndex,
      weight: g.weight,
      gate: g.gate,
      outcome: g.outcome,
      observed: g.observed,
      threshold: g.threshold,
      detail: g.detail,
      explanation: (g.explanation ?? null) as Explanation | null,
      at: g.at,
    })),
  };
}

/**
 * The split of the newest second measured for both slots, when it is under 10 s old. Each slot's newest
 * sample is one step down the (environment, slot, at) key; the page asks for this on every refresh.
 */
export async function latestMeasuredWeights(
  prisma: PrismaClient,
  environmentId: string,
  now = Date.now(),
): Promise<Record<Slot, number> | null> {
  const rows = await prisma.$queryRaw<{ slot: Slot; weight: number; at: Date }[]>`
    SELECT s.slot, m.weight, m.at
    FROM (VALUES ('blue'), ('green')) AS s(slot)
    CROSS JOIN LATERAL (
      SELECT "weight", "at" FROM "MetricSample"
      WHERE "environmentId" = ${environmentId} AND "slot" = s.slot::"Slot"
      ORDER BY "at" DESC LIMIT 1
    ) m`;
  const blue = rows.find((r) => r.slot === "blue");
  const green = rows.find((r) => r.slot === "green");
  if (!blue || !green || blue.at.getTime() !== green.at.getTime() || now - blue.at.getTime() >= 10_000) return null;
  return { blue: blue.weight, green: green.weight };
}

/** The split a deployment that has ended left behind: all traffic on the new slot if it succeeded, else on the live one. */
export function settledWeights(d: {
  status: DeploymentStatus;
  targetSlot: Slot;
  fromSlot: Slot;
}): Record<Slot, number> | null {
  if (!isTerminal(d.status)) return null;
  const slot = d.status === "succeeded" ? d.targetSlot : d.fromSlot;
  return slot === "blue" ? { blue: 100, green: 0 } : { blue: 0, green: 100 };
}

const seriesDate = z.coerce
  .date({ error: "must be a date" })
  .refine(
    (d) => d.getTime() >= EARLIEST_SERIES_START && d.getTime() <= Date.now() + 86_400_000,
    "must be a date between 2000 and tomorrow",
  );

export const metricSeriesInput = z
  .object({
    environmentId: z.string().uuid("must be an environment id"),
    /** How far back, in minutes (1-second samples up to an hour, 1-minute roll-ups beyond). */
    minutes: z
      .number()
      .int()
      .min(1, "must be between 1 and 43200")
      .max(43_200, "must be between 1 and 43200")
      .default(15),
    /** Instead of `minutes`: from this moment (a deployment's start, less a minute) to now, or to `to`. */
    from: seriesDate.optional(),
    /** Where the series ends (a finished deployment's end, plus a minute); now when left out. */
    to: seriesDate.optional(),
  })
  .refine((input) => !input.to || (input.from !== undefined && input.to >= input.from), {
    path: ["to"],
    message: "must come with a from, and not before it",
  });

/** No panel kept samples before this; a date far outside is a mistake, not a question (and overflows the database's dates). */
const EARLIEST_SERIES_START = Date.UTC(2000, 0, 1);
/** Samples and roll-ups are kept 30 days: a series never reaches further back. */
const LONGEST_SERIES_MINUTES = 43_200;

export async function metricSeries(prisma: PrismaClient, input: z.infer<typeof metricSeriesInput>, now = new Date()) {
  const minutes = input.from
    ? Math.min(LONGEST_SERIES_MINUTES, Math.max(1, Math.ceil((now.getTime() - input.from.getTime()) / 60_000)))
    : input.minutes;
  const since =
    input.from && minutes < LONGEST_SERIES_MINUTES ? input.from : new Date(now.getTime() - minutes * 60_000);
  const perSecond = minutes <= 60;
  const until = input.to ? { lte: input.to } : {};
  // Samples say how long each covers (1 s, or an ECS environment's CloudWatch period); roll-ups are minutes
  // (and hold only slots that had a release on them).
  const rows: ({ seconds: number; vacant: boolean } & Omit<MetricSample, "seconds" | "vacant">)[] = perSecond
    ? await prisma.metricSample.findMany({
        where: { environmentId: input.environmentId, at: { gte: since, ...until } },
        orderBy: { at: "asc" },
      })
    : (
        await prisma.metricRollup.findMany({
          where: { environmentId: input.environmentId, at: { gte: since, ...until } },
          orderBy: { at: "asc" },
        })
      ).map((r) => ({ ...r, seconds: 60, vacant: false }));
  return {
    resolutionSeconds: perSecond ? 1 : 60,
    points: rows.map((r) => ({
      at: r.at.toISOString(),
      seconds: r.seconds,
      slot: r.slot,
      requests: r.requests,
      errors: r.errors,
      p50: r.p50,
      p95: r.p95,
      p99: r.p99,
      weight: r.weight,
      vacant: r.vacant,
    })),
  };
}
