"use client";
/**
 * The overview table: one row per service, one column per environment name. Each cell says what is
 * live there, a deployment in progress and its step, the last finished deployment, pending change
 * requests and live health, with links. Sorts by service or by how much a column's cells need
 * attention; filters by name and by what is happening; pages. The server does all three
 * (server/overview-page.ts) from the URL, where the table keeps them.
 */
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useMemo } from "react";
import { DataTable, dataTableColumns, type DataTableColumn } from "@/components/DataTable";
import { Icon } from "@/components/Icon";
import { StatusBadge } from "@/components/StatusBadge";
import { attention, OVERVIEW_SHOWS, type OverviewShow } from "@/server/overview-page";
import type { AppRouter } from "@/server/trpc/root";

type OverviewPage = inferRouterOutputs<AppRouter>["services"]["overview"];
type Service = OverviewPage["services"][number];
type Cell = Service["environments"][number];

function stepText(d: NonNullable<Cell["activeDeployment"]>): string {
  const step = Math.min(d.stepIndex, d.steps.length - 1);
  return `step ${step + 1} of ${d.steps.length} (${d.steps[step] ?? 100}%)`;
}

function formatPercent(value: number): string {
  return `${Math.round(value * 100) / 100}%`;
}

function EnvironmentCell({ service, cell }: { service: Service; cell: Cell | undefined }) {
  if (!cell) return <span className="muted">—</span>;
  const active = cell.activeDeployment;
  const last = cell.lastDeployment;
  return (
    <div className="ov-cell" data-testid={`env-${service.slug}-${cell.name}`} data-attention={attention(cell)}>
      <div className="ov-live">
        <span className="ov-label">Live</span>{" "}
        <strong data-testid="live-version">
          {cell.liveVersion ? `${cell.liveVersion} on ${cell.liveSlot}` : "nothing yet"}
        </strong>
      </div>
      {active && (
        <div className="ov-active" data-testid="active-deployment">
          <Link href={`/deployments/${active.id}`}>
            {active.version} <StatusBadge status={active.status} /> <span className="ov-step">{stepText(active)}</span>
          </Link>
        </div>
      )}
      {last && (
        <div className="ov-last" data-testid="last-deployment">
          <span className="ov-label">Last</span>{" "}
          <Link href={`/deployments/${last.id}`}>
            {last.version} <StatusBadge status={last.status} />
          </Link>
        </div>
      )}
      {cell.pendingChanges && (
        <div className="ov-pending" data-testid="pending-approvals">
          <Icon name="clock" size={14} />{" "}
          <Link href={`/approvals?change=${cell.pendingChanges.oldestId}`}>
            {cell.pendingChanges.count} change{cell.pendingChanges.count === 1 ? "" : "s"} awaiting approval
          </Link>
        </div>
      )}
      <div className="ov-health muted">
        {cell.health && cell.health.requests > 0
          ? `${cell.health.rps} req/s · ${cell.health.errorRatePercent ?? 0}% errors · p95 ${cell.health.p95Ms ?? "–"} ms`
          : "no traffic"}
        {cell.availabilityPercent !== null && ` · ${formatPercent(cell.availabilityPercent)} up (30 d)`}
      </div>
      {cell.alerts.map((alert) => (
        <div key={alert.id} className="ov-alert" role="alert">
          <Icon name="warning" size={14} /> {alert.message}
        </div>
      ))}
    </div>
  );
}

export function ServiceTable({ page, show, stale }: { page: OverviewPage; show: OverviewShow; stale: boolean }) {
  const pathname = usePathname();
  const envKey = page.environments.join("\n");

  const columns = useMemo(() => {
    const helper = dataTableColumns<Service>();
    const names = envKey.split("\n").filter(Boolean);
    const cols: DataTableColumn<Service>[] = [
      helper.accessor("name", {
        id: "service",
        header: "Service",
        meta: { searchable: true },
        cell: (info) => (
          <Link className="ov-service" href={`/services/${info.row.original.id}`}>
            {info.getValue()}
          </Link>
        ),
      }),
      ...names.map((name) =>
        helper.accessor((s) => attention(s.environments.find((e) => e.name === name)), {
          id: `env:${name}`,
          header: name,
          sortDescFirst: false,
          cell: (info) => (
            <EnvironmentCell
              service={info.row.original}
              cell={info.row.original.environments.find((e) => e.name === name)}
            />
          ),
        }),
      ),
    ];
    return cols;
  }, [envKey]);

  function setShow(value: string) {
    const next = new URLSearchParams(window.location.search);
    if (value === "all") next.delete("show");
    else next.set("show", value);
    next.delete("page");
    const query = next.toString();
    // As DataTable writes its search: at once, so neither write undoes the other.
    window.history.replaceState(null, "", query ? `${pathname}?${query}` : pathname);
  }

  return (
    <DataTable
      label="Services"
      className="ov-table"
      data={page.services}
      columns={columns}
      getRowId={(s) => s.id}
      searchPlaceholder="Filter services by name"
      defaultSort={[{ id: "service", desc: false }]}
      rowProps={(s) => ({ "data-service": s.slug })}
      server={{ matching: page.matching, total: page.total, page: page.page, pageCount: page.pageCount, stale }}
      toolbar={
        <select aria-label="Show" value={show} onChange={(e) => setShow(e.target.value)}>
          {Object.entries(OVERVIEW_SHOWS).map(([value, { label }]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      }
      empty={
        show === "all"
          ? "No service matches the filter."
          : `No service matches: ${OVERVIEW_SHOWS[show].label.toLowerCase()}.`
      }
    />
  );
}
