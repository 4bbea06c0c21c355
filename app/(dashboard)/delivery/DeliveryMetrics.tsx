"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Notice } from "@/components/Notice";
import { trendOf, type DeliveryFigures, type ScopeMetrics } from "@/server/delivery/dora";
import { PERIOD_DAYS } from "@/server/delivery/report";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { formatPerDay, formatRatio, formatSeconds, TREND_SYMBOL } from "./format";
import { formatDate } from "@/lib/format";

type Metric = "deploymentsPerDay" | "leadTimeSeconds" | "changeFailureRate" | "timeToRestoreSeconds";

const COLUMNS: {
  metric: Metric;
  label: string;
  format: (f: DeliveryFigures) => string;
  detail: (f: DeliveryFigures) => string;
}[] = [
  {
    metric: "deploymentsPerDay",
    label: "Deployment frequency",
    format: (f) => formatPerDay(f.deploymentsPerDay),
    detail: (f) => `${f.deployments} successful`,
  },
  {
    metric: "leadTimeSeconds",
    label: "Lead time for changes",
    format: (f) => formatSeconds(f.leadTimeSeconds),
    detail: (f) => `median of ${f.leadTimeSamples}`,
  },
  {
    metric: "changeFailureRate",
    label: "Change failure rate",
    format: (f) => formatRatio(f.changeFailureRate),
    detail: (f) => `${f.failedChanges} of ${f.changes}`,
  },
  {
    metric: "timeToRestoreSeconds",
    label: "Time to restore",
    format: (f) => formatSeconds(f.timeToRestoreSeconds),
    detail: (f) => `${f.restored} restored${f.unrestored ? `, ${f.unrestored} not yet` : ""}`,
  },
];

function Cell({ metrics, column }: { metrics: ScopeMetrics; column: (typeof COLUMNS)[number] }) {
  const direction = trendOf(column.metric, metrics.current[column.metric], metrics.previous[column.metric]);
  return (
    <td data-metric={column.metric}>
      <strong>{column.format(metrics.current)}</strong>
      <div className="muted">{column.detail(metrics.current)}</div>
      {direction && (
        <div className={`muted trend-${direction}`} title={`previous period: ${column.format(metrics.previous)}`}>
          {TREND_SYMBOL[direction]} (was {column.format(metrics.previous)})
        </div>
      )}
    </td>
  );
}

/** The four delivery metrics (DORA) overall, per service and per environment, with their trend. */
export function DeliveryMetrics({ days }: { days: (typeof PERIOD_DAYS)[number] }) {
  const trpc = useTRPC();
  const report = useQuery(trpc.delivery.metrics.queryOptions({ days }));
  return (
    <section aria-label="Delivery metrics">
      <p className="muted">
        Overall and per service: production environments. Lead time runs from a release&rsquo;s commit to live; a change
        fails when it is rolled back or an emergency follows it within 24 hours; time to restore runs from a failed
        deployment or an emergency to the next success. The trend compares with the {days} days before.
      </p>
      <nav aria-label="Period" className="row">
        {PERIOD_DAYS.map((d) => (
          <Link
            key={d}
            href={`/delivery?days=${d}`}
            aria-current={d === days ? "page" : undefined}
            className={d === days ? "badge" : undefined}
          >
            Last {d} days
          </Link>
        ))}
      </nav>
      {report.error && <Notice kind="error">{errorMessage(report.error)}</Notice>}
      {report.data && (
        <>
          <table aria-label="Delivery metrics by scope">
            <thead>
              <tr>
                <th>Scope</th>
                {COLUMNS.map((c) => (
                  <th key={c.metric}>{c.label}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr data-scope="overall">
                <th scope="row">All services (production)</th>
                {COLUMNS.map((c) => (
                  <Cell key={c.metric} metrics={report.data.overall} column={c} />
                ))}
              </tr>
              {report.data.services.flatMap((service) => [
                <tr key={service.id} data-scope={service.slug}>
                  <th scope="row">
                    <Link href={`/services/${service.id}`}>{service.name}</Link> (production)
                  </th>
                  {COLUMNS.map((c) => (
                    <Cell key={c.metric} metrics={service.metrics} column={c} />
                  ))}
                </tr>,
                ...service.environments.map((env) => (
                  <tr key={env.id} data-scope={`${service.slug}/${env.name}`}>
                    <th scope="row" style={{ paddingLeft: "1.5rem", fontWeight: "normal" }}>
                      {env.name}
                    </th>
                    {COLUMNS.map((c) => (
                      <Cell key={c.metric} metrics={env.metrics} column={c} />
                    ))}
                  </tr>
                )),
              ])}
            </tbody>
          </table>
          <h2>Trend, all services</h2>
          <table aria-label="Delivery trend">
            <thead>
              <tr>
                <th>From</th>
                {COLUMNS.map((c) => (
                  <th key={c.metric}>{c.label}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {report.data.overall.series.map((slice) => (
                <tr key={String(slice.from)}>
                  <td>{formatDate(slice.from)}</td>
                  {COLUMNS.map((c) => (
                    <td key={c.metric}>{c.format(slice.figures)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
