/**
 * Metric samples: stored (samples for an hour, 1-minute roll-ups for 30 days, availability per
 * minute), pushed live to the environment's room, and watched for alerts. A sample covers one
 * second (the local target's data plane) or one CloudWatch period (an ECS environment's, fed by
 * cloudwatch-feed.ts, 60 s or 10 s, minutes late); every consumer weighs it by its `seconds`.
 */
import type { Logger } from "pino";
import { systemActor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import type { ServerToClientEvents } from "../realtime/event-map.ts";
import type { PanelEvents } from "../realtime/events.ts";
import {
  ALERT_WINDOW_SECONDS,
  alertThresholdsSchema,
  DEFAULT_ALERT_THRESHOLDS,
  describeAlert,
  readAlertWindow,
  type SecondTotals,
} from "./alerts.ts";
import type { Slot, Weights } from "../targets/driver.ts";

export interface SlotSecond {
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A slot's second as stored and pushed: `vacant` when no release was on the slot. */
export type MeasuredSlotSecond = SlotSecond & { vacant: boolean };
type MeasuredSample = EnvironmentSample & { slots: Record<Slot, MeasuredSlotSecond> };

/**
 * The slots that hold a release: the live slot once a release is live there, and the slot an active
 * deployment puts its release on. Traffic that reaches any other slot (before anything is live, it
 * all does) measures no release: it raises no alert and counts for no availability.
 */
export function occupiedSlots(
  env: { liveSlot: Slot; liveReleaseId: string | null },
  activeDeployment: { targetSlot: Slot } | null,
): Set<Slot> {
  const slots = new Set<Slot>();
  if (env.liveReleaseId) slots.add(env.liveSlot);
  if (activeDeployment) slots.add(activeDeployment.targetSlot);
  return slots;
}

export interface EnvironmentSample {
  environmentId: string;
  at: Date;
  slots: Record<Slot, SlotSecond>;
  weights: Weights;
  /** How long the sample covers from `at` (default 1). */
  seconds?: number;
}

export const SAMPLE_RETENTION_MS = 60 * 60 * 1000;
export const ROLLUP_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
export const AVAILABILITY_RETENTION_MS = 400 * 24 * 60 * 60 * 1000;
/** Minutes are rolled up once this old: CloudWatch periods of ECS environments arrive minutes late. */
export const ROLLUP_LATE_DATA_MS = 5 * 60 * 1000;

export interface MetricsPipelineOptions {
  prisma: PrismaClient;
  log: Logger;
  events: PanelEvents;
  /** How long the environment's thresholds and occupied slots are cached (default 1 s). */
  environmentCacheMs?: number;
}

/** What classifying and watching a sample needs of its environment, as last read. */
interface EnvironmentFacts {
  at: number;
  value: ReturnType<typeof alertThresholdsSchema.parse>;
  name: string;
  occupied: Set<Slot>;
}

export class MetricsPipeline {
  private buffer: MeasuredSample[] = [];
  private flushing: Promise<void> | null = null;
  private windows = new Map<string, SecondTotals[]>();
  private openAlerts = new Map<string, Map<string, string>>();
  private environmentCache = new Map<string, EnvironmentFacts>();
  private readingEnvironments: Promise<void> | null = null;
  /** Samples are classified and watched one at a time, in the order they came. */
  private queue: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: MetricsPipelineOptions) {}

  start(): void {
    this.timers.push(setInterval(() => void this.flush(), 1000));
    this.timers.push(
      setInterval(
        () =>
          void this.rollUp().catch((error: unknown) =>
            this.options.log.warn({ action: "metrics.rollup_failed", metadata: { error } }, "Metric roll-up failed"),
          ),
        30_000,
      ),
    );
    void this.loadOpenAlerts().catch(() => {});
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.queue;
    await this.flush();
  }

  /** Called for every completed second of every environment. */
  record(sample: EnvironmentSample): void {
    this.queue = this.queue.then(() => this.classifyAndWatch(sample));
  }

  private async classifyAndWatch(sample: EnvironmentSample): Promise<void> {
    let occupied: Set<Slot>;
    try {
      occupied = (await this.environment(sample.environmentId)).occupied;
    } catch (error) {
      this.options.log.warn(
        { action: "metrics.classify_failed", metadata: { error } },
        "Could not read which slots hold a release",
      );
      occupied = new Set<Slot>(["blue", "green"]);
    }
    const slots = Object.fromEntries(
      (Object.keys(sample.slots) as Slot[]).map((slot) => [
        slot,
        { ...sample.slots[slot], vacant: !occupied.has(slot) },
      ]),
    ) as Record<Slot, MeasuredSlotSecond>;
    const measured: MeasuredSample = { ...sample, slots };
    this.buffer.push(measured);
    this.options.events.emit(`env:${sample.environmentId}`, "metrics", {
      environmentId: sample.environmentId,
      at: sample.at.toISOString(),
      seconds: sample.seconds ?? 1,
      slots,
      weights: sample.weights,
    } satisfies ServerToClientEvents["metrics"]);
    await this.watchAlerts(measured).catch((error: unknown) =>
      this.options.log.warn({ action: "alerts.failed", metadata: { error } }, "Alert evaluation failed"),
    );
  }

  async flush(): Promise<void> {
    // Samples still being classified belong to this flush.
    await this.queue;
    if (this.flushing) return this.flushing;
    const batch = this.buffer;
    if (batch.length === 0) return;
    this.buffer = [];
    this.flushing = (async () => {
      try {
        await this.options.prisma.metricSample.createMany({
          data: batch.flatMap((s) =>
            (Object.keys(s.slots) as Slot[]).map((slot) => ({
              environmentId: s.environmentId,
              slot,
              at: s.at,
              ...s.slots[slot],
              weight: s.weights[slot],
              seconds: s.seconds ?? 1,
            })),
          ),
          skipDuplicates: true,
        });
      } catch (error) {
        this.options.log.warn(
          { action: "metrics.store_failed", metadata: { error, samples: batch.length } },
          "Could not store metric samples",
        );
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** Rolls completed minutes into MetricRollup and AvailabilityMinute, then drops what is past retention. */
  async rollUp(now = new Date()): Promise<void> {
    const { prisma } = this.options;
    const until = new Date(Math.floor((now.getTime() - ROLLUP_LATE_DATA_MS) / 60_000) * 60_000);
    const since = new Date(until.getTime() - 2 * 60 * 60 * 1000);
    await prisma.$executeRaw`
      INSERT INTO "MetricRollup" ("environmentId", "slot", "at", "requests", "errors", "p50", "p95", "p99", "weight")
      SELECT "environmentId", "slot", date_trunc('minute', "at"), SUM("requests"), SUM("errors"),
        SUM("p50" * "requests") / NULLIF(SUM("requests") FILTER (WHERE "p50" IS NOT NULL), 0),
        SUM("p95" * "requests") / NULLIF(SUM("requests") FILTER (WHERE "p95" IS NOT NULL), 0),
        SUM("p99" * "requests") / NULLIF(SUM("requests") FILTER (WHERE "p99" IS NOT NULL), 0),
        ROUND(AVG("weight"))
      FROM "MetricSample" WHERE "at" >= ${since} AND "at" < ${until} AND NOT "vacant"
      GROUP BY 1, 2, 3
      ON CONFLICT DO NOTHING`;
    await prisma.$executeRaw`
      INSERT INTO "AvailabilityMinute" ("environmentId", "at", "trafficSeconds", "okSeconds")
      SELECT "environmentId", date_trunc('minute', "at"), COALESCE(SUM(sec) FILTER (WHERE req > 0), 0), COALESCE(SUM(sec) FILTER (WHERE req - err > 0), 0)
      FROM (SELECT "environmentId", "at", SUM("requests") AS req, SUM("errors") AS err, MAX("seconds") AS sec FROM "MetricSample" WHERE "at" >= ${since} AND "at" < ${until} AND NOT "vacant" GROUP BY 1, 2) s
      GROUP BY 1, 2
      ON CONFLICT DO NOTHING`;
    await prisma.metricSample.deleteMany({ where: { at: { lt: new Date(now.getTime() - SAMPLE_RETENTION_MS) } } });
    await prisma.metricRollup.deleteMany({ where: { at: { lt: new Date(now.getTime() - ROLLUP_RETENTION_MS) } } });
    await prisma.availabilityMinute.deleteMany({
      where: { at: { lt: new Date(now.getTime() - AVAILABILITY_RETENTION_MS) } },
    });
  }

  /**
   * The environment's alert thresholds, name and occupied slots, read at most once a second. Every
   * environment sampled here is read again in the same query: each sends a sample a second, and a
   * read per environment per second was a third of a panel's queries with 150 environments deploying
   * (`npm run bench -- overview`).
   */
  private async environment(environmentId: string): Promise<EnvironmentFacts> {
    const fresh = () => {
      const cached = this.environmentCache.get(environmentId);
      return cached && Date.now() - cached.at < (this.options.environmentCacheMs ?? 1000) ? cached : null;
    };
    const cached = fresh();
    if (cached) return cached;
    // A read under way may already bring this one.
    if (this.readingEnvironments) await this.readingEnvironments.catch(() => {});
    const after = fresh();
    if (after) return after;
    this.readingEnvironments = this.readEnvironments([...new Set([...this.environmentCache.keys(), environmentId])]);
    try {
      await this.readingEnvironments;
    } finally {
      this.readingEnvironments = null;
    }
    return this.environmentCache.get(environmentId)!;
  }

  private async readEnvironments(ids: string[]): Promise<void> {
    const envs = await this.options.prisma.environment.findMany({
      where: { id: { in: ids } },
      include: {
        service: true,
        deployments: { where: { activeEnvironmentId: { not: null } }, select: { targetSlot: true } },
      },
    });
    const at = Date.now();
    const byId = new Map(envs.map((env) => [env.id, env]));
    for (const id of ids) {
      const env = byId.get(id);
      const parsed = alertThresholdsSchema.safeParse(env?.alertThresholds);
      this.environmentCache.set(id, {
        at,
        value: parsed.success ? parsed.data : DEFAULT_ALERT_THRESHOLDS,
        name: env ? `${env.service.name} ${env.name}` : id,
        // An environment the panel does not know: judge it as if both slots held releases.
        occupied: env ? occupiedSlots(env, env.deployments[0] ?? null) : new Set<Slot>(["blue", "green"]),
      });
    }
  }

  private async loadOpenAlerts(): Promise<void> {
    const open = await this.options.prisma.alert.findMany({ where: { resolvedAt: null } });
    for (const alert of open) {
      const map = this.openAlerts.get(alert.environmentId) ?? new Map<string, string>();
      map.set(alert.metric, alert.id);
      this.openAlerts.set(alert.environmentId, map);
    }
  }

  private async watchAlerts(sample: MeasuredSample): Promise<void> {
    // A slot with no release measures nothing; an environment with nothing live has no window at all.
    const totals = (Object.values(sample.slots) as MeasuredSlotSecond[])
      .filter((s) => !s.vacant)
      .reduce(
        (t, s) => ({
          requests: t.requests + s.requests,
          errors: t.errors + s.errors,
          p95w: t.p95w + (s.p95 ?? 0) * s.requests,
          n: t.n + (s.p95 !== null ? s.requests : 0),
        }),
        { requests: 0, errors: 0, p95w: 0, n: 0 },
      );
    // The last 30 s, or the last period when a sample is longer (a CloudWatch minute).
    const windowSeconds = Math.max(ALERT_WINDOW_SECONDS, sample.seconds ?? 1);
    const window = [
      ...(this.windows.get(sample.environmentId) ?? []),
      {
        at: sample.at.getTime(),
        requests: totals.requests,
        errors: totals.errors,
        p95: totals.n ? totals.p95w / totals.n : null,
      },
    ].filter((s) => s.at > sample.at.getTime() - windowSeconds * 1000);
    this.windows.set(sample.environmentId, window);
    const { value: thresholds, name } = await this.environment(sample.environmentId);
    const open = this.openAlerts.get(sample.environmentId) ?? new Map<string, string>();
    this.openAlerts.set(sample.environmentId, open);
    const { prisma, events } = this.options;
    for (const reading of readAlertWindow(window, thresholds)) {
      const openId = open.get(reading.metric);
      if (reading.breached && !openId) {
        const message = describeAlert(reading.metric, reading.value, reading.threshold, name, windowSeconds);
        const alert = await prisma.$transaction(async (tx) => {
          const created = await tx.alert.create({
            data: {
              environmentId: sample.environmentId,
              severity: "critical",
              metric: reading.metric,
              value: reading.value,
              threshold: reading.threshold,
              message,
              startedAt: sample.at,
            },
          });
          await recordAudit(tx, systemActor(), {
            action: "alert.opened",
            entityType: "Environment",
            entityId: sample.environmentId,
            after: { alertId: created.id, metric: reading.metric, value: reading.value, threshold: reading.threshold },
          });
          return created;
        });
        open.set(reading.metric, alert.id);
        events.emit("overview", "alert", { ...alert, startedAt: alert.startedAt.toISOString() });
        events.notify?.({
          kind: "alert",
          severity: "critical",
          title: `Critical alert: ${name}`,
          body: message,
          environmentId: sample.environmentId,
        });
      } else if (!reading.breached && openId) {
        open.delete(reading.metric);
        await prisma.$transaction(async (tx) => {
          await tx.alert.update({ where: { id: openId }, data: { resolvedAt: sample.at } });
          await recordAudit(tx, systemActor(), {
            action: "alert.resolved",
            entityType: "Environment",
            entityId: sample.environmentId,
            after: { alertId: openId, metric: reading.metric, value: reading.value },
          });
        });
        events.emit("overview", "alert:resolved", { id: openId, environmentId: sample.environmentId });
      }
    }
  }
}
