"use client";
/**
 * The overview table: one row per service, one column per environment name. Each cell says what is
 * live there, a deployment in progress and its step, the last finished deployment, pending change
 * requests and live health, with links. Sorts by service or by how much a column's cells need
 * attention; filters by name and by what is happening; both kept in the URL.
 */
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { usePathname, useSearchParams } from "next/navigation";
import { useMemo } from "react";
import { DataTable, dataTableColumns, type DataTableColumn } from "@/components/DataTable";
import { Icon } from "@/components/Icon";
import { StatusBadge } from "@/components/StatusBadge";
import type { AppRouter } from "@/server/trpc/root";

type Service = inferRouterOutputs<AppRouter>["services"]["overview"][number];
type Cell = Service["environments"][number];

const FAILED = new Set(["failed", "rolled_back", "aborted"]);

/** Lower is more urgent: a column sorted ascending puts the cells to look at first. */
function attention(cell: Cell | undefined): number {
  if (!cell) return 9;
  if (cell.alerts.length) return 0;
  if (cell.activeDeployment) return 1;
  if (cell.lastDeployment && FAILED.has(cell.lastDeployment.status)) return 2;
  if (cell.pendingChanges) return 3;
  if (!cell.liveVersion) return 5;
  return 4;
}

const SHOW = {
  all: { label: "All services", test: () => true },
  deploying: { label: "Deploying now", test: (c: Cell) => c.activeDeployment !== null },
  approvals: { label: "Awaiting approval", test: (c: Cell) => c.pendingChanges !== null },
  failed: {
    label: "Last deployment failed",
    test: (c: Cell) => c.lastDeployment !== null && FAILED.has(c.lastDeployment.status),
  },
  alerts: { label: "With open alerts", test: (c: Cell) => c.alerts.length > 0 },
} as const;
type Show = keyof typeof SHOW;

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

export function ServiceTable({ services }: { services: Service[] }) {
  const pathname = usePathname();
  const params = useSearchParams();
  const showParam = params.get("show");
  const show: Show = showParam && showParam in SHOW ? (showParam as Show) : "all";

  // Environment names in promotion order (by their usual position across services).
  const envNames = useMemo(() => {
    const positions = new Map<string, number[]>();
    for (const s of services)
      for (const e of s.environments) positions.set(e.name, [...(positions.get(e.name) ?? []), e.position]);
    const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return [...positions.entries()]
      .sort((a, b) => average(a[1]) - average(b[1]) || a[0].localeCompare(b[0]))
      .map(([name]) => name);
  }, [services]);
  const envKey = envNames.join("\n");

  const columns = useMemo(() => {
    const helper = dataTableColumns<Service>();
    const names = envKey.split("\n").filter(Boolean);
    const cols: DataTableColumn<Service>[] = [
      helper.accessor("name", {
        id: "service",
        header: "Service",
        sortFn: "alphanumeric",
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
          sortFn: "basic",
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

  const filtered = useMemo(
    () => (show === "all" ? services : services.filter((s) => s.environments.some((e) => SHOW[show].test(e)))),
    [services, show],
  );

  function setShow(value: string) {
    const next = new URLSearchParams(window.location.search);
    if (value === "all") next.delete("show");
    else next.set("show", value);
    const query = next.toString();
    // As DataTable writes its search: at once, so neither write undoes the other.
    window.history.replaceState(null, "", query ? `${pathname}?${query}` : pathname);
  }

  return (
    <DataTable
      label="Services"
      className="ov-table"
      data={filtered}
      columns={columns}
      getRowId={(s) => s.id}
      searchPlaceholder="Filter services by name"
      defaultSort={[{ id: "service", desc: false }]}
      rowProps={(s) => ({ "data-service": s.slug })}
      toolbar={
        <select aria-label="Show" value={show} onChange={(e) => setShow(e.target.value)}>
          {Object.entries(SHOW).map(([value, { label }]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      }
      empty={
        show === "all" ? "No service matches the filter." : `No service matches: ${SHOW[show].label.toLowerCase()}.`
      }
    />
  );
}
