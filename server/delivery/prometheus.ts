/**
 * Delivery metrics in /metrics: the four keys over the last 30 days, overall (service="" and
 * environment=""), per service (environment="") and per environment. Computed from the database
 * when scraped; one computation serves every gauge of a scrape.
 */
import { Gauge, type Registry } from "prom-client";
import type { PrismaClient } from "../db/generated/client.ts";
import type { DeliveryFigures } from "./dora.ts";
import { deliveryReport, type DeliveryReport } from "./report.ts";

export const EXPORTED_WINDOW_DAYS = 30;
/** Gauges collected within this long of each other share one computation (one scrape). */
const SHARE_MS = 2000;

type Labels = { service: string; environment: string };

/** Every (labels, figures) row of a report: overall, each service, each environment. */
export function exportedRows(report: DeliveryReport): { labels: Labels; figures: DeliveryFigures }[] {
  return [
    { labels: { service: "", environment: "" }, figures: report.overall.current },
    ...report.services.flatMap((service) => [
      { labels: { service: service.slug, environment: "" }, figures: service.metrics.current },
      ...service.environments.map((env) => ({
        labels: { service: service.slug, environment: env.name },
        figures: env.metrics.current,
      })),
    ]),
  ];
}

export function registerDeliveryMetrics(
  registry: Registry,
  prisma: PrismaClient,
  now: () => Date = () => new Date(),
): void {
  let shared: { at: number; report: Promise<DeliveryReport> } | null = null;
  const report = () => {
    const at = Date.now();
    if (!shared || at - shared.at > SHARE_MS)
      shared = { at, report: deliveryReport(prisma, { days: EXPORTED_WINDOW_DAYS }, now()) };
    return shared.report;
  };
  const gauge = (name: string, help: string, value: (f: DeliveryFigures) => number | null) =>
    new Gauge({
      name,
      help: `${help} (last ${EXPORTED_WINDOW_DAYS} days; service="" is every production environment, environment="" a service's production environments)`,
      labelNames: ["service", "environment"],
      registers: [registry],
      async collect() {
        this.reset();
        let rows: ReturnType<typeof exportedRows>;
        try {
          rows = exportedRows(await report());
        } catch {
          // /metrics answers while the database does not (the health check says why); the gauge stays empty.
          return;
        }
        for (const row of rows) {
          const v = value(row.figures);
          if (v !== null) this.set(row.labels, v);
        }
      },
    });
  gauge(
    "greenlight_delivery_deployments_per_day",
    "Deployment frequency: successful deployments per day",
    (f) => f.deploymentsPerDay,
  );
  gauge(
    "greenlight_delivery_lead_time_seconds",
    "Lead time for changes: median seconds from the release's commit to live",
    (f) => f.leadTimeSeconds,
  );
  gauge(
    "greenlight_delivery_change_failure_ratio",
    "Change failure rate: share of changes rolled back or followed by an emergency within 24 h",
    (f) => f.changeFailureRate,
  );
  gauge(
    "greenlight_delivery_time_to_restore_seconds",
    "Time to restore: median seconds from a failed deployment or an emergency to the next success",
    (f) => f.timeToRestoreSeconds,
  );
}
