"use client";
/**
 * Changes scheduled into a maintenance window: the list on the maintenance page, and the schedule
 * of one change (with the form to schedule it) on the change's page.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo, useState } from "react";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { formatRange, localiseTimestamps, relative, useNow, viewerZone } from "./time";

const STATUS_LABELS: Record<string, string> = {
  scheduled: "Scheduled",
  started: "Started",
  not_started: "Did not start",
  cancelled: "Cancelled",
};

interface Row {
  id: string;
  status: string;
  windowName: string;
  windowStart: Date | string;
  windowEnd: Date | string;
  reason: string | null;
  deploymentId: string | null;
  changeRequestId: string;
  change: { title: string } | null;
  version: string | null;
  serviceName: string | null;
  environmentName: string | null;
  scheduledBy: { name: string } | null;
}

function useScheduled(changeRequestId?: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery({
    ...trpc.maintenance.scheduled.queryOptions(changeRequestId ? { changeRequestId } : {}),
    refetchInterval: 30_000,
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.maintenance.scheduled.pathKey() });
  return { list, refresh };
}

function ScheduleState({ row, now, zone }: { row: Row; now: number; zone: string }) {
  const start = new Date(row.windowStart);
  return (
    <>
      <span className={`badge sched-${row.status}`} data-testid="schedule-status">
        {STATUS_LABELS[row.status] ?? row.status}
      </span>{" "}
      {row.status === "scheduled" && <span className="muted">starts {relative(start, now)}</span>}
      {row.status === "started" && row.deploymentId && (
        <Link href={`/deployments/${row.deploymentId}`}>Open the deployment</Link>
      )}
      {row.reason && row.status !== "started" && (
        <div className="muted sched-reason">{localiseTimestamps(row.reason, zone)}</div>
      )}
    </>
  );
}

/** The maintenance page's list: what will start by itself, in which window, and what did not. */
export function ScheduledDeployments({ canCancel }: { canCancel: boolean }) {
  const trpc = useTRPC();
  const { list, refresh } = useScheduled();
  const cancel = useMutation(trpc.maintenance.cancelSchedule.mutationOptions({ onSuccess: refresh }));
  const { mutate: cancelSchedule } = cancel;
  const now = useNow(30_000);
  const zone = viewerZone();
  const columns = useMemo(() => {
    const column = dataTableColumns<Row>();
    return [
      // Sorted by the change's title; searched by it and by the service, release and environment under it.
      column.accessor(
        (r) => `${r.change?.title ?? "Change"} ${r.serviceName ?? ""} ${r.version ?? ""} ${r.environmentName ?? ""}`,
        {
          id: "change",
          header: "Change",
          sortFn: "text",
          meta: { searchable: true },
          cell: (info) => {
            const r = info.row.original;
            return (
              <>
                <Link href={`/approvals?change=${r.changeRequestId}`}>
                  <strong>{r.change?.title ?? "Change"}</strong>
                </Link>
                <div className="muted">
                  {r.serviceName} {r.version} to {r.environmentName} · scheduled by {r.scheduledBy?.name ?? "?"}
                </div>
              </>
            );
          },
        },
      ),
      column.accessor((r) => new Date(r.windowStart).getTime(), {
        id: "window",
        header: `Window (${zone})`,
        sortFn: "basic",
        cell: (info) => {
          const r = info.row.original;
          return (
            <>
              <strong>{r.windowName}</strong>
              <div>
                <time dateTime={new Date(r.windowStart).toISOString()}>
                  {formatRange(new Date(r.windowStart), new Date(r.windowEnd), zone)}
                </time>
              </div>
            </>
          );
        },
      }),
      column.accessor((r) => STATUS_LABELS[r.status] ?? r.status, {
        id: "state",
        header: "State",
        sortFn: "text",
        meta: { searchable: true },
        cell: (info) => <ScheduleState row={info.row.original} now={now} zone={zone} />,
      }),
      ...(canCancel
        ? [
            column.display({
              id: "actions",
              header: () => <span className="visually-hidden">Actions</span>,
              cell: (info) =>
                info.row.original.status === "scheduled" && (
                  <button
                    type="button"
                    disabled={cancel.isPending}
                    onClick={() => cancelSchedule({ id: info.row.original.id })}
                  >
                    Cancel
                  </button>
                ),
            }),
          ]
        : []),
    ];
  }, [zone, now, canCancel, cancel.isPending, cancelSchedule]);
  if (list.error) return <Notice kind="error">{errorMessage(list.error)}</Notice>;
  if (!list.data) return <p className="muted">Loading scheduled deployments…</p>;
  const rows = list.data as Row[];
  if (rows.length === 0)
    return (
      <p className="muted" data-testid="scheduled-deployments">
        Nothing is scheduled. A release manager schedules an approved major or infrastructure change from its page under
        Approvals.
      </p>
    );
  return (
    <>
      {cancel.error && <Notice kind="error">{errorMessage(cancel.error)}</Notice>}
      <DataTable
        label="Scheduled deployments"
        urlPrefix="scheduled-"
        testId="scheduled-deployments"
        className="mx-upcoming sched-table"
        data={rows}
        columns={columns}
        getRowId={(r) => r.id}
        searchPlaceholder="Filter by change, service, release or state"
        rowProps={(r) => ({ "data-testid": "scheduled-deployment", "data-status": r.status })}
      />
    </>
  );
}

/**
 * On a change's page: its schedule, and for an approved change whose type needs a window, the
 * choice of window (the next one by default) to start it in.
 */
export function ChangeSchedule({
  change,
  canSchedule,
}: {
  change: { id: string; status: string; requiresWindow: boolean; serviceId: string };
  canSchedule: boolean;
}) {
  const trpc = useTRPC();
  const { list, refresh } = useScheduled(change.id);
  const windows = useQuery({
    ...trpc.maintenance.windows.queryOptions({ serviceId: change.serviceId, count: 6 }),
    enabled: change.requiresWindow,
  });
  const schedule = useMutation(trpc.maintenance.schedule.mutationOptions({ onSuccess: refresh }));
  const cancel = useMutation(trpc.maintenance.cancelSchedule.mutationOptions({ onSuccess: refresh }));
  const [windowStart, setWindowStart] = useState("");
  const now = useNow(30_000);
  const zone = viewerZone();
  if (!change.requiresWindow) return null;
  const rows = (list.data ?? []) as Row[];
  const waiting = rows.find((r) => r.status === "scheduled");
  const mayOffer = canSchedule && change.status === "approved" && !waiting;
  if (rows.length === 0 && !mayOffer) return null;
  const error = schedule.error ?? cancel.error;
  return (
    <div className="sched-change" data-testid="change-schedule">
      <h3>Maintenance window</h3>
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
      {rows.length > 0 && (
        <ul className="sched-list">
          {rows.map((r) => (
            <li key={r.id} data-testid="change-scheduled" data-status={r.status}>
              <strong>{r.windowName}</strong>, {formatRange(new Date(r.windowStart), new Date(r.windowEnd), zone)} —{" "}
              <ScheduleState row={r} now={now} zone={zone} />
              {canSchedule && r.status === "scheduled" && (
                <>
                  {" "}
                  <button type="button" disabled={cancel.isPending} onClick={() => cancel.mutate({ id: r.id })}>
                    Cancel schedule
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {mayOffer && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            schedule.mutate({ changeRequestId: change.id, windowStart: windowStart || undefined });
          }}
        >
          <div className="field" style={{ flex: "1 1 220px" }}>
            <label htmlFor="schedule-window">Start it by itself in</label>
            <select
              id="schedule-window"
              value={windowStart}
              onChange={(e) => setWindowStart(e.target.value)}
              style={{ width: "100%" }}
            >
              <option value="">
                The next window
                {windows.data?.upcoming[0]
                  ? ` (${formatRange(new Date(windows.data.upcoming[0].start), new Date(windows.data.upcoming[0].end), zone)})`
                  : ""}
              </option>
              {(windows.data?.upcoming ?? []).slice(1).map((w) => (
                <option key={w.start} value={w.start}>
                  {w.name}: {formatRange(new Date(w.start), new Date(w.end), zone)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <button type="submit" className="primary" disabled={schedule.isPending}>
              Schedule into window
            </button>
          </div>
        </form>
      )}
      <p className="muted sched-note">
        When the window opens the panel starts the deployment itself, if the approvals, the checklist and the window
        still hold; if not, it tells the requester why.
      </p>
    </div>
  );
}
