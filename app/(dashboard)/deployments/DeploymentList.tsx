"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback } from "react";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import { StatusBadge } from "@/components/StatusBadge";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../_lib/trpc";

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
    <table aria-label="Deployments">
      <thead>
        <tr>
          <th>Release</th>
          <th>Service</th>
          <th>Environment</th>
          <th>Status</th>
          <th>Started</th>
          <th>By</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {list.data.map((d) => (
          <tr key={d.id}>
            <td>
              <Link href={`/deployments/${d.id}`}>{d.version}</Link>
              {d.emergency && <span className="badge">emergency</span>}
            </td>
            <td>{d.service}</td>
            <td>{d.environment}</td>
            <td>
              <StatusBadge status={d.status} />
              {d.statusDetail && (
                <div className="muted" style={{ fontSize: "0.8rem" }}>
                  {d.statusDetail}
                </div>
              )}
            </td>
            <td>{new Date(d.startedAt).toLocaleString()}</td>
            <td>{d.startedBy ?? "—"}</td>
            <td>
              {d.finishedAt
                ? `${Math.round((new Date(d.finishedAt).getTime() - new Date(d.startedAt).getTime()) / 1000)} s`
                : "running"}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
