"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback } from "react";
import type { inferRouterOutputs } from "@trpc/server";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import { StatusBadge } from "@/components/StatusBadge";
import { formatDateTime, formatDuration } from "@/lib/format";
import type { AppRouter } from "@/server/trpc/root";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../_lib/trpc";

type DeploymentRow = inferRouterOutputs<AppRouter>["deployments"]["list"][number];

const column = dataTableColumns<DeploymentRow>();
const columns = [
  column.accessor("version", {
    header: "Release",
    sortFn: "alphanumeric",
    meta: { searchable: true },
    cell: (info) => (
      <>
        <Link href={`/deployments/${info.row.original.id}`}>{info.getValue()}</Link>
        {info.row.original.emergency && <span className="badge">emergency</span>}
      </>
    ),
  }),
  column.accessor("service", { header: "Service", sortFn: "text", meta: { searchable: true } }),
  column.accessor("environment", { header: "Environment", sortFn: "text", meta: { searchable: true } }),
  column.accessor("status", {
    header: "Status",
    sortFn: "text",
    cell: (info) => (
      <>
        <StatusBadge status={info.row.original.status} />
        {info.row.original.statusDetail && (
          <div className="muted" style={{ fontSize: "0.8rem" }}>
            {info.row.original.statusDetail}
          </div>
        )}
      </>
    ),
  }),
  column.accessor((d) => new Date(d.startedAt).getTime(), {
    id: "started",
    header: "Started",
    sortFn: "basic",
    cell: (info) => formatDateTime(info.row.original.startedAt),
  }),
  column.accessor((d) => d.startedBy ?? "—", { id: "by", header: "By", sortFn: "text", meta: { searchable: true } }),
  column.accessor(
    (d) =>
      d.finishedAt ? new Date(d.finishedAt).getTime() - new Date(d.startedAt).getTime() : Number.MAX_SAFE_INTEGER,
    {
      id: "duration",
      header: "Duration",
      sortFn: "basic",
      // A running deployment sorts last, as the longest.
      cell: (info) => (info.row.original.finishedAt ? formatDuration(info.getValue() / 1000) : "running"),
    },
  ),
];

export function DeploymentList({ serviceId }: { serviceId?: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = { serviceId, limit: 100 };
  const list = useQuery(trpc.deployments.list.queryOptions(input));
  useRealtimeEvent(
    "deployment:changed",
    useCallback(
      () => void queryClient.invalidateQueries({ queryKey: trpc.deployments.list.queryKey() }),
      [queryClient, trpc],
    ),
    ["overview"],
  );
  if (list.error) return <Notice kind="error">{errorMessage(list.error)}</Notice>;
  if (!list.data) return <p className="muted">Loading…</p>;
  if (list.data.length === 0) {
    return (
      <EmptyState title="No deployments yet">
        <p>
          Start one from a service&apos;s releases: every blue/green deployment, in progress or finished, is listed
          here.
        </p>
      </EmptyState>
    );
  }
  return (
    <DataTable
      label="Deployments"
      data={list.data}
      columns={columns}
      getRowId={(d) => d.id}
      searchPlaceholder="Filter by release, service, environment or person"
      defaultSort={[{ id: "started", desc: true }]}
    />
  );
}
