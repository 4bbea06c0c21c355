"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useCallback, useMemo, useState } from "react";
import type { inferRouterOutputs } from "@trpc/server";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../_lib/trpc";
import { ChangeDetail, type ChangePermissions } from "./ChangeDetail";
import { ChecklistState } from "./ChecklistState";
import { NewChangeRequest } from "./NewChangeRequest";
import { formatDuration } from "../maintenance/time";
import type { AppRouter } from "@/server/trpc/root";

type InboxItem = inferRouterOutputs<AppRouter>["changes"]["inbox"][number];
const inboxHelper = dataTableColumns<InboxItem>();

/** How long a change has waited: "3 h 5 min". */
function age(createdAt: Date | string, now = Date.now()): string {
  return formatDuration(now - new Date(createdAt).getTime());
}

function inboxColumns(select: (id: string) => void) {
  return [
    inboxHelper.accessor("title", {
      header: "Change",
      cell: (info) => (
        <a
          href={`/approvals?change=${info.row.original.id}`}
          onClick={(e) => (e.preventDefault(), select(info.row.original.id))}
        >
          {info.getValue()}
        </a>
      ),
    }),
    inboxHelper.accessor((c) => `${c.environment.serviceName} ${c.release.version} to ${c.environment.name}`, {
      id: "what",
      header: "Release",
    }),
    inboxHelper.accessor((c) => TYPE_LABELS[c.type] ?? c.type, { id: "type", header: "Type" }),
    inboxHelper.accessor((c) => c.openToViewer.join(", ").replace(/_/g, " "), { id: "as", header: "Needs you as" }),
    inboxHelper.accessor((c) => -new Date(c.createdAt).getTime(), {
      id: "age",
      header: "Waiting",
      sortFn: "basic",
      cell: (info) => <span data-testid="change-age">{age(info.row.original.createdAt)}</span>,
    }),
    inboxHelper.display({
      id: "checklist",
      header: "Checklist",
      cell: (info) => (
        <ChecklistState releaseId={info.row.original.releaseId} environmentId={info.row.original.environmentId} />
      ),
    }),
  ];
}

type ChangeRow = inferRouterOutputs<AppRouter>["changes"]["list"][number];
const changeHelper = dataTableColumns<ChangeRow>();

/** Every change request, newest first as the server sends them; sortable and searchable like every list. */
function allChangeColumns(select: (id: string) => void) {
  return [
    changeHelper.accessor("title", {
      header: "Title",
      sortFn: "text",
      meta: { searchable: true },
      cell: (info) => (
        <a
          href={`/approvals?change=${info.row.original.id}`}
          onClick={(e) => (e.preventDefault(), select(info.row.original.id))}
        >
          {info.getValue()}
        </a>
      ),
    }),
    changeHelper.accessor((c) => c.environment.serviceName, {
      id: "service",
      header: "Service",
      sortFn: "text",
      meta: { searchable: true },
    }),
    changeHelper.accessor((c) => c.release.version, {
      id: "release",
      header: "Release",
      sortFn: "alphanumeric",
      meta: { searchable: true },
    }),
    changeHelper.accessor((c) => TYPE_LABELS[c.type] ?? c.type, { id: "type", header: "Type", sortFn: "text" }),
    changeHelper.accessor((c) => c.requestedBy.name, {
      id: "requestedBy",
      header: "Requested by",
      sortFn: "text",
      meta: { searchable: true },
    }),
    changeHelper.accessor("status", {
      header: "Status",
      sortFn: "text",
      cell: (info) => (
        <span className={`status status-${STATUS_TONE[info.getValue()] ?? "live"}`}>{info.getValue()}</span>
      ),
    }),
    changeHelper.accessor((c) => (c.status === "pending" ? c.evaluation.missing.join(", ").replace(/_/g, " ") : ""), {
      id: "missing",
      header: "Missing",
      sortFn: "text",
      cell: (info) => <span className="muted">{info.getValue()}</span>,
    }),
  ];
}

const TYPE_LABELS: Record<string, string> = {
  standard: "Standard",
  user_facing: "User-facing",
  infrastructure: "Infrastructure",
  major: "Major",
  emergency: "Emergency",
};
const STATUS_TONE: Record<string, string> = {
  pending: "live",
  approved: "ok",
  rejected: "bad",
  withdrawn: "off",
  used: "off",
};

export function ApprovalsView({
  userId,
  selected,
  can,
}: {
  userId: string;
  selected: string | null;
  can: ChangePermissions & { request: boolean };
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const inbox = useQuery(trpc.changes.inbox.queryOptions());
  const all = useQuery(trpc.changes.list.queryOptions({}));
  const [requesting, setRequesting] = useState(false);
  const refresh = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.changes.pathKey() }),
    [queryClient, trpc],
  );
  useRealtimeEvent("notification", refresh);
  const select = useCallback(
    (id: string | null) => router.replace(id ? `/approvals?change=${id}` : "/approvals", { scroll: false }),
    [router],
  );
  const columns = useMemo(() => inboxColumns(select), [select]);
  const changeColumns = useMemo(() => allChangeColumns(select), [select]);

  return (
    <>
      <div className="section-head">
        <h1>Approvals</h1>
        {can.request && (
          <button type="button" className="primary" onClick={() => setRequesting((v) => !v)}>
            {requesting ? "Close" : "Request a change"}
          </button>
        )}
      </div>
      {requesting && (
        <NewChangeRequest
          onCreated={(id) => {
            setRequesting(false);
            refresh();
            select(id);
          }}
        />
      )}

      <h2>Waiting for you</h2>
      {inbox.error && <Notice kind="error">{errorMessage(inbox.error)}</Notice>}
      {inbox.data?.length === 0 && (
        <p className="muted" data-testid="inbox-empty">
          Nothing waits for your approval.
        </p>
      )}
      {inbox.data && inbox.data.length > 0 && (
        <DataTable
          label="Waiting for you"
          urlPrefix="inbox-"
          data={inbox.data}
          columns={columns}
          getRowId={(c) => c.id}
          defaultSort={[{ id: "age", desc: true }]}
          rowProps={(c) => ({ "data-testid": `inbox-${c.id}` })}
        />
      )}

      {selected && (
        <div style={{ marginTop: "1rem" }}>
          <ChangeDetail id={selected} userId={userId} can={can} onChanged={refresh} onClose={() => select(null)} />
        </div>
      )}

      <h2>All change requests</h2>
      {all.error && <Notice kind="error">{errorMessage(all.error)}</Notice>}
      {all.data?.length === 0 ? (
        <EmptyState title="No change requests yet">
          <p>Production deployments carry a change request; release managers create them here.</p>
        </EmptyState>
      ) : (
        <DataTable
          label="Change requests"
          urlPrefix="changes-"
          data={all.data ?? []}
          columns={changeColumns}
          getRowId={(c) => c.id}
          searchPlaceholder="Filter by title, service, release or requester"
          rowProps={(c) => ({ "data-testid": `change-${c.title}` })}
        />
      )}
    </>
  );
}
