/**
 * Prometheus as a metric source: a window's figures per slot from the environment's own PromQL, for
 * the same judge as every other source. When Prometheus cannot be reached or fails a query, the window
 * says so (`sourceStatus`) instead of throwing: the gates wait with the error shown, and fail once the
 * outage has lasted past the environment's limit; they never pass without figures. The outage's start
 * is kept on the active deployment's row (`metricsOutageSince`), not in memory, so a panel that
 * restarts mid-outage goes on counting from when it began.
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../../db/generated/client.ts";
import {
  emptySlotMetrics,
  SLOTS,
  type EnvironmentRef,
  type Slot,
  type SlotMetrics,
  type WindowMetrics,
} from "../driver.ts";
import { instantQuery, PrometheusQueryError, type PrometheusEndpoint } from "./client.ts";
import type { PrometheusSettings } from "./config.ts";
import { slotFigures } from "./figures.ts";
import { windowQueries, type TemplateValues } from "./queries.ts";

export const sourceName = (settings: Pick<PrometheusSettings, "url">) => `Prometheus at ${settings.url}`;

export const templateValues = (env: Pick<EnvironmentRef, "serviceSlug" | "name">, slot: Slot): TemplateValues => ({
  slot,
  service: env.serviceSlug,
  environment: env.name,
});

/** One slot's figures over the window: three instant queries at the window's end. */
export async function slotWindow(
  endpoint: PrometheusEndpoint,
  settings: PrometheusSettings,
  values: TemplateValues,
  window: { from: Date; to: Date },
): Promise<SlotMetrics> {
  const queries = windowQueries(settings, values, window);
  const [requests, errors, latency] = await Promise.all(
    [queries.requestsQuery, queries.errorsQuery, queries.latencyQuery].map((q) => instantQuery(endpoint, q, window.to)),
  );
  return slotFigures({ requests: requests!, errors: errors!, latency: latency! });
}

/** How long the set of environments that name a Prometheus is reused (see PrometheusSource.names). */
export const NAMED_SOURCES_TTL_MS = 1000;

export class PrometheusSource {
  private named: { at: number; ids: Set<string> } | null = null;
  private readingNamed: Promise<Set<string>> | null = null;
  /** Bumped by forget: a read that began before a change does not stand for after it. */
  private generation = 0;

  constructor(private readonly options: { prisma: PrismaClient; log: Logger }) {}

  /**
   * Whether the environment names a Prometheus. Every pass of every baking deployment asks, so the
   * answer comes from one read of all environments at most once a second (a lookup per pass was 150
   * queries a second with 150 deployments waiting). This panel's own changes are seen at once
   * (`forget`); another instance's within the second.
   */
  async names(environmentId: string): Promise<boolean> {
    const named = this.named && Date.now() - this.named.at < NAMED_SOURCES_TTL_MS ? this.named : null;
    if (named) return named.ids.has(environmentId);
    if (!this.readingNamed) {
      const generation = this.generation;
      this.readingNamed = this.options.prisma.prometheusSource
        .findMany({ select: { environmentId: true } })
        .then((rows) => {
          const ids = new Set(rows.map((r) => r.environmentId));
          if (generation === this.generation) this.named = { at: Date.now(), ids };
          return ids;
        })
        .finally(() => {
          this.readingNamed = null;
        });
    }
    return (await this.readingNamed).has(environmentId);
  }

  /** An environment's Prometheus was named, changed or removed here: read afresh on the next look. */
  forget(): void {
    this.generation++;
    this.named = null;
  }

  /** The window's figures from the environment's Prometheus, or null when the environment names none. */
  async metrics(env: EnvironmentRef, window: { from: Date; to: Date }): Promise<WindowMetrics | null> {
    if (!(await this.names(env.id))) return null;
    const row = await this.options.prisma.prometheusSource.findUnique({
      where: { environmentId: env.id },
      include: {
        environment: {
          select: { deployments: { where: { activeEnvironmentId: env.id }, select: { metricsOutageSince: true } } },
        },
      },
    });
    if (!row) return null;
    const source = sourceName(row);
    const outageSince = row.environment.deployments[0]?.metricsOutageSince ?? null;
    try {
      const figures = await Promise.all(SLOTS.map((slot) => slotWindow(row, row, templateValues(env, slot), window)));
      if (outageSince) await this.outageOver(env, source);
      return {
        from: window.from,
        to: window.to,
        slots: { blue: figures[0]!, green: figures[1]! },
        complete: true,
        source,
        sourceStatus: { answered: true },
      };
    } catch (error) {
      if (!(error instanceof PrometheusQueryError)) throw error;
      const since = outageSince ?? (await this.outageBegan(env, window.to, error.message));
      return {
        from: window.from,
        to: window.to,
        slots: { blue: emptySlotMetrics(), green: emptySlotMetrics() },
        complete: false,
        source,
        sourceStatus: {
          answered: false,
          error: error.message,
          forSeconds: Math.max(0, (window.to.getTime() - since.getTime()) / 1000),
          limitSeconds: row.outageLimitSeconds,
        },
      };
    }
  }

  private async outageBegan(env: EnvironmentRef, at: Date, error: string): Promise<Date> {
    const { prisma, log } = this.options;
    await prisma.deployment.updateMany({
      where: { activeEnvironmentId: env.id, metricsOutageSince: null },
      data: { metricsOutageSince: at },
    });
    log.warn(
      { action: "prometheus.unavailable", metadata: { environmentId: env.id, error } },
      `The gates of ${env.serviceSlug}/${env.name} get no metrics: ${error}`,
    );
    const row = await prisma.deployment.findUnique({
      where: { activeEnvironmentId: env.id },
      select: { metricsOutageSince: true },
    });
    return row?.metricsOutageSince ?? at;
  }

  private async outageOver(env: EnvironmentRef, source: string): Promise<void> {
    await this.options.prisma.deployment.updateMany({
      where: { activeEnvironmentId: env.id, metricsOutageSince: { not: null } },
      data: { metricsOutageSince: null },
    });
    this.options.log.info(
      { action: "prometheus.available", metadata: { environmentId: env.id } },
      `${source} answers the gates of ${env.serviceSlug}/${env.name} again`,
    );
  }
}
