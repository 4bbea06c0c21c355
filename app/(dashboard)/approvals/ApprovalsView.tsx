"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useCallback, useState } from "react";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../_lib/trpc";
import { ChangeDetail, type ChangePermissions } from "./ChangeDetail";
import { NewChangeRequest } from "./NewChangeRequest";

const TYPE_LABELS: Record<string, string> = { standard: "Standard", user_facing: "User-facing", infrastructure: "Infrastructure", major: "Major", emergency: "Emergency" };
const STATUS_TONE: Record<string, string> = { pending: "live", approved: "ok", rejected: "bad", withdrawn: "off", used: "off" };

export function ApprovalsView({ userId, selected, can }: { userId: string; selected: string | null; can: ChangePermissions & { request: boolean } }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const inbox = useQuery(trpc.changes.inbox.queryOptions());
  const all = useQuery(trpc.changes.list.queryOptions({}));
  const [requesting, setRequesting] = useState(false);
  const refresh = useCallback(() => void queryClient.invalidateQueries({ queryKey: trpc.changes.pathKey() }), [queryClient, trpc]);
  useRealtimeEvent("notification", refresh);
  const select = (id: string | null) => router.replace(id ? `/approvals?change=${id}` : "/approvals", { scroll: false });

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
      {inbox.data?.length === 0 && <p className="muted" data-testid="inbox-empty">Nothing waits for your approval.</p>}
      <div className="grid">
        {inbox.data?.map((c) => (
          <button key={c.id} type="button" className="card" style={{ textAlign: "left" }} onClick={() => select(c.id)} data-testid={`inbox-${c.id}`}>
            <strong>{c.title}</strong> — {c.environment.serviceName} {c.release.version} to {c.environment.name} · {TYPE_LABELS[c.type]} · needs you as{" "}
            {c.openToViewer.join(", ").replace(/_/g, " ")}
          </button>
        ))}
      </div>

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
        <table aria-label="Change requests">
          <thead>
            <tr>
              <th>Title</th>
              <th>Service</th>
              <th>Release</th>
              <th>Type</th>
              <th>Requested by</th>
              <th>Status</th>
              <th>Missing</th>
            </tr>
          </thead>
          <tbody>
            {all.data?.map((c) => (
              <tr key={c.id} data-testid={`change-${c.title}`}>
                <td>
                  <a href={`/approvals?change=${c.id}`} onClick={(e) => (e.preventDefault(), select(c.id))}>
                    {c.title}
                  </a>
                </td>
                <td>{c.environment.serviceName}</td>
                <td>{c.release.version}</td>
                <td>{TYPE_LABELS[c.type]}</td>
                <td>{c.requestedBy.name}</td>
                <td>
                  <span className={`status status-${STATUS_TONE[c.status] ?? "live"}`}>{c.status}</span>
                </td>
                <td className="muted">{c.status === "pending" ? c.evaluation.missing.join(", ").replace(/_/g, " ") : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
