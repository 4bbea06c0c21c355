"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo } from "react";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { Notice } from "@/components/Notice";
import { trendOf, type DeliveryFigures, type ScopeMetrics } from "@/server/delivery/dora";
import { PERIOD_DAYS, type DeliveryReport } from "@/server/delivery/report";
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

function Figure({ metrics, column }: { metrics: ScopeMetrics; column: (typeof COLUMNS)[number] }) {
  const direction = trendOf(column.metric, metrics.current[column.metric], metrics.previous[column.metric]);
  return (
    <div data-metric={column.metric}>
      <strong>{column.format(metrics.current)}</strong>
      <div className="muted">{column.detail(metrics.current)}</div>
      {direction && (
        <div className={`muted trend-${direction}`} title={`previous period: ${column.format(metrics.previous)}`}>
          {TREND_SYMBOL[direction]} (was {column.format(metrics.previous)})
        </div>
      )}
    </div>
  );
}

/** One row of the table: everything, a service (its production environments), or one environment. */
interface ScopeRow {
  /** `overall`, the service's slug, or `slug/environment`. */
  scope: string;
  /** What the row is sorted and searched by. */
  label: string;
  service?: { id: string; name: string };
  environment?: string;
  metrics: ScopeMetrics;
}

function scopeRows(report: DeliveryReport): ScopeRow[] {
  return [
    { scope: "overall", label: "All services (production)", metrics: report.overall },
    ...report.services.flatMap((service): ScopeRow[] => [
      { scope: service.slug, label: `${service.name} (production)`, service, metrics: service.metrics },
      ...service.environments.map((env) => ({
        scope: `${service.slug}/${env.name}`,
        label: `${service.name} / ${env.name}`,
        service,
        environment: env.name,
        metrics: env.metrics,
      })),
    ]),
  ];
}

const column = dataTableColumns<ScopeRow>();
const SCOPE_COLUMNS = [
  column.accessor("label", {
    id: "scope",
    header: "Scope",
    sortFn: "text",
    meta: { searchable: true },
    cell: (info) => {
      const row = info.row.original;
      if (row.environment)
        // Under its service until the table is sorted; named with it, so it still reads once it is.
        return (
          <span className="delivery-environment">
            <span className="muted">{row.service?.name} / </span>
            {row.environment}
          </span>
        );
      if (row.service)
        return (
          <strong>
            <Link href={`/services/${row.service.id}`}>{row.service.name}</Link> (production)
          </strong>
        );
      return <strong>{row.label}</strong>;
    },
  }),
  // A figure that is missing (no lead time without commits, no failure rate without changes) sorts last either way.
  ...COLUMNS.map((c) =>
    column.accessor((row) => row.metrics.current[c.metric] ?? undefined, {
      id: c.metric,
      header: c.label,
      sortFn: "basic",
      sortUndefined: "last",
      cell: (info) => <Figure metrics={info.row.original.metrics} column={c} />,
    }),
  ),
];

/** The four delivery metrics (DORA) overall, per service and per environment, with their trend. */
export function DeliveryMetrics({ days }: { days: (typeof PERIOD_DAYS)[number] }) {
  const trpc = useTRPC();
  const report = useQuery(trpc.delivery.metrics.queryOptions({ days }));
  const rows = useMemo(() => (report.data ? scopeRows(report.data) : []), [report.data]);
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
          <DataTable
            label="Delivery metrics by scope"
            data={rows}
            columns={SCOPE_COLUMNS}
            getRowId={(row) => row.scope}
            searchPlaceholder="Filter by service or environment"
            rowProps={(row) => ({ "data-scope": row.scope })}
          />
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
