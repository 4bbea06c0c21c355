/**
 * The charts, availability and alerts of ECS environments, fed from CloudWatch at its own
 * resolution: every CloudWatch period (60 s for load-balancer metrics) becomes one sample per slot
 * in the metrics pipeline, exactly as the local target's seconds do, so the same charts, the same
 * availability minutes and the same alert watcher serve both. A sample says how long it covers
 * (`seconds`), and the page shows how far behind CloudWatch is: a period is recorded only once it
 * ended `metricsDelaySeconds` ago (CloudWatch publishes load-balancer metrics late), so the newest
 * period on the chart is older than that, and the ones after it are still arriving.
 *
 * The figures are the gates' own (EcsTarget.metrics, per-period `periods`), read without a new slot:
 * no alarm or attribution calls, one GetMetricData per environment and poll. An environment whose
 * service publishes high-resolution metrics of its own (`highResolutionMetrics`) is charted from
 * those instead, at their period (10 s by default), within seconds.
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../db/generated/client.ts";
import { SLOTS, type EnvironmentRef, type Slot, type SlotMetrics, type Weights } from "../targets/driver.ts";
import { validateEcsConfig } from "../targets/ecs/config.ts";
import type { EcsTarget } from "../targets/ecs/ecs-target.ts";
import type { EnvironmentSample, SlotSecond } from "./samples.ts";

/** How far back the feed reads when it has nothing yet (the deployment page charts 15 minutes). */
export const FEED_WINDOW_MS = 15 * 60_000;
/** No poll of one environment may take longer (a silent CloudWatch must not hold the others). */
const POLL_DEADLINE_MS = 30_000;

export interface CloudWatchFeedOptions {
  prisma: PrismaClient;
  log: Logger;
  ecs: EcsTarget;
  /** Where samples go (the metrics pipeline: storage, live charts, alerts). */
  record: (sample: EnvironmentSample) => void;
  /** Between polls (default 15 s: a 60 s period is recorded within 15 s of becoming complete). */
  intervalMs?: number;
  now?: () => Date;
}

/** A slot's figures of one period as a sample's slot. */
function slotOf(metrics: SlotMetrics, index: number): SlotSecond {
  const p = metrics.periods?.[index];
  return {
    requests: p?.requests ?? 0,
    errors: p?.errors ?? 0,
    p50: p?.p50 ?? null,
    p95: p?.p95 ?? null,
    p99: p?.p99 ?? null,
  };
}

/** Each slot's share of the period's requests (what the load balancer actually split); `previous` when there were none. */
export function servedShare(slots: Record<Slot, SlotSecond>, previous: Weights): Weights {
  const total = slots.blue.requests + slots.green.requests;
  if (total === 0) return previous;
  const blue = Math.round((slots.blue.requests * 100) / total);
  return { blue, green: 100 - blue };
}

export class CloudWatchFeed {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  /** Per environment: the newest period recorded, and its weights. */
  private readonly latest = new Map<string, { at: number; weights: Weights }>();
  private readonly now: () => Date;

  constructor(private readonly options: CloudWatchFeedOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    // A round that cannot even list the environments (the database is down) is logged and tried again
    // at the next tick: left unhandled, its rejection ended the panel's process.
    const poll = () =>
      void this.poll().catch((error: unknown) =>
        this.options.log.warn(
          { action: "cloudwatch_feed.round_failed", metadata: { error: (error as Error).message ?? error } },
          `CloudWatch feed round failed: ${(error as Error).message ?? String(error)}`,
        ),
      );
    poll();
    this.timer = setInterval(poll, this.options.intervalMs ?? 15_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // The round's failure, if any, was logged by the tick that started it.
    await this.polling?.catch(() => {});
  }

  /** One round over every ECS environment (one at a time; never two rounds at once). */
  poll(): Promise<void> {
    this.polling ??= this.round().finally(() => (this.polling = null));
    return this.polling;
  }

  private async round(): Promise<void> {
    const environments = await this.options.prisma.environment.findMany({
      where: { target: "ecs" },
      include: { service: true },
    });
    for (const env of environments) {
      const ref: EnvironmentRef = {
        id: env.id,
        serviceSlug: env.service.slug,
        name: env.name,
        target: env.target,
        targetConfig: env.targetConfig,
      };
      await this.pollEnvironment(ref, env.liveSlot).catch((error: Error) =>
        this.options.log.warn(
          { action: "cloudwatch_feed.failed", metadata: { environmentId: env.id, error: error.message } },
          `CloudWatch feed of ${env.service.slug}/${env.name}: ${error.message}`,
        ),
      );
    }
  }

  /** Records the periods of one environment that became complete since the last one recorded. */
  async pollEnvironment(env: EnvironmentRef, liveSlot: Slot): Promise<number> {
    const parsed = validateEcsConfig(env.targetConfig);
    if (!parsed.ok) return 0;
    const period = parsed.config.highResolutionMetrics?.periodSeconds ?? parsed.config.metricsPeriodSeconds;
    const now = this.now();
    const known = this.latest.get(env.id) ?? (await this.stored(env.id, liveSlot));
    const from = new Date(Math.max(known ? known.at + period * 1000 : 0, now.getTime() - FEED_WINDOW_MS));
    const metrics = await this.options.ecs.chartMetrics(
      env,
      { from, to: now },
      { signal: AbortSignal.timeout(POLL_DEADLINE_MS) },
    );
    const periods = metrics.slots.blue.periods ?? [];
    // A last period CloudWatch has not filled in for every slot yet is recorded at the next poll.
    const ready = metrics.complete ? periods.length : Math.max(0, periods.length - 1);
    let weights: Weights =
      known?.weights ?? ({ [liveSlot]: 100, [liveSlot === "blue" ? "green" : "blue"]: 0 } as Weights);
    let recorded = 0;
    for (let i = 0; i < ready; i++) {
      const at = periods[i]!.at;
      if (known && at.getTime() <= known.at) continue;
      const slots = Object.fromEntries(SLOTS.map((slot) => [slot, slotOf(metrics.slots[slot], i)])) as Record<
        Slot,
        SlotSecond
      >;
      weights = servedShare(slots, weights);
      this.options.record({ environmentId: env.id, at, seconds: period, slots, weights });
      this.latest.set(env.id, { at: at.getTime(), weights });
      recorded++;
    }
    return recorded;
  }

  /** The newest period already stored (by this or an earlier panel process). */
  private async stored(environmentId: string, liveSlot: Slot): Promise<{ at: number; weights: Weights } | null> {
    const rows = await this.options.prisma.metricSample.findMany({
      where: { environmentId },
      orderBy: { at: "desc" },
      take: 2,
    });
    if (rows.length === 0) return null;
    const at = rows[0]!.at.getTime();
    const weights = { [liveSlot]: 100, [liveSlot === "blue" ? "green" : "blue"]: 0 } as Weights;
    for (const r of rows.filter((r) => r.at.getTime() === at)) weights[r.slot] = r.weight;
    return { at, weights };
  }
}
