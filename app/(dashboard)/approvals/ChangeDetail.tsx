"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Notice } from "@/components/Notice";
import { ROLE_LABELS, type Role } from "@/server/auth/roles";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { ChangeSchedule } from "../maintenance/Scheduled";
import { Checklist } from "./Checklist";
import { ChecklistState } from "./ChecklistState";
import { formatDateTime } from "@/lib/format";

export interface ChangePermissions {
  decide: boolean;
  tick: boolean;
  deploy: boolean;
  withdraw: boolean;
}

export function ChangeDetail({
  id,
  userId,
  can,
  onChanged,
  onClose,
}: {
  id: string;
  userId: string;
  can: ChangePermissions;
  onChanged: () => void;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const change = useQuery(trpc.changes.get.queryOptions({ id }));
  const done = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.changes.get.queryKey({ id }) });
    onChanged();
  };
  const [approvedAs, setApprovedAs] = useState<string | null>(null);
  const approve = useMutation(
    trpc.changes.approve.mutationOptions({
      onSuccess: (_result, input) => {
        setApprovedAs(input.role ?? change.data?.openToViewer[0] ?? "");
        done();
      },
    }),
  );
  const reject = useMutation(trpc.changes.reject.mutationOptions({ onSuccess: done }));
  const withdraw = useMutation(trpc.changes.withdraw.mutationOptions({ onSuccess: done }));
  const start = useMutation(
    trpc.deployments.start.mutationOptions({ onSuccess: (d) => router.push(`/deployments/${d.id}`) }),
  );
  const [role, setRole] = useState<Role | "">("");
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState("");

  if (change.error) return <Notice kind="error">{errorMessage(change.error)}</Notice>;
  const c = change.data;
  if (!c) return <p className="muted">Loading…</p>;
  const error = approve.error ?? reject.error ?? withdraw.error ?? start.error;
  const open = c.status === "pending" || c.status === "approved";
  // Only a pending change with a role this person may still fill can be approved (or rejected) by them.
  const decidable = c.status === "pending" && c.openToViewer.length > 0;
  const filledBy = new Map(
    c.evaluation.filled.map((f) => [
      f.role,
      c.approvals.find((a) => a.approverId === f.approverId && a.revision === c.revision)?.approver.name ?? "?",
    ]),
  );

  return (
    <section className="card" aria-label={`Change request ${c.title}`} data-testid="change-detail">
      <div className="section-head">
        <h2 style={{ margin: 0 }}>{c.title}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="kv" style={{ marginTop: "0.75rem" }}>
        <dt>Change</dt>
        <dd>
          {c.environment.serviceName} {c.release.version} to {c.environment.name} · {c.type.replace(/_/g, "-")} ·
          revision {c.revision}
        </dd>
        <dt>Requested by</dt>
        <dd>
          {c.requestedBy.name} ({c.requestedBy.email}) on {formatDateTime(c.createdAt)}
        </dd>
        <dt>Status</dt>
        <dd data-testid="change-status">{c.status}</dd>
        {c.description && (
          <>
            <dt>Description</dt>
            <dd>{c.description}</dd>
          </>
        )}
        {c.performanceAssessment && (
          <>
            <dt>Performance impact</dt>
            <dd>{c.performanceAssessment}</dd>
          </>
        )}
        {c.rejectionReason && (
          <>
            <dt>Rejected because</dt>
            <dd>{c.rejectionReason}</dd>
          </>
        )}
      </dl>

      <h3>Required approvals</h3>
      {c.policy.requiredRoles.length === 0 ? (
        <p className="muted">This change type needs no approvals.</p>
      ) : (
        <ul aria-label="Required approvals">
          {c.policy.requiredRoles.map((r) => (
            <li key={r} data-testid={`required-${r}`}>
              {ROLE_LABELS[r]}:{" "}
              {filledBy.has(r) ? (
                <strong>approved by {filledBy.get(r)}</strong>
              ) : (
                <span className="muted">waiting</span>
              )}
            </li>
          ))}
        </ul>
      )}
      {c.approvals.length > 0 && (
        <details>
          <summary>Decisions ({c.approvals.length})</summary>
          <ul>
            {c.approvals.map((a) => (
              <li key={a.id} className={a.revision === c.revision ? "" : "muted"}>
                {formatDateTime(a.createdAt)}: {a.approver.name} {a.decision} as {ROLE_LABELS[a.role]}
                {a.reason ? ` — ${a.reason}` : ""}
                {a.revision !== c.revision ? " (lapsed: an earlier revision)" : ""}
              </li>
            ))}
          </ul>
        </details>
      )}

      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
      {approvedAs !== null && !approve.isPending && (
        <Notice kind="ok">
          <span data-testid="approve-confirmation">
            You approved this change{approvedAs ? ` as ${ROLE_LABELS[approvedAs as Role]}` : ""}.{" "}
            {c.status === "approved"
              ? "Every required approval is in: it is approved."
              : c.evaluation.missing.length
                ? `Still waiting for: ${c.evaluation.missing.join(", ").replace(/_/g, " ")}.`
                : ""}{" "}
            Checklist: <ChecklistState releaseId={c.releaseId} environmentId={c.environmentId} />
          </span>
        </Notice>
      )}
      <div className="controls" style={{ margin: "0.75rem 0" }}>
        {can.decide && decidable && (
          <>
            {c.openToViewer.length > 1 && (
              <select aria-label="Approve as" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="">Approve as…</option>
                {c.openToViewer.map((r) => (
                  <option key={r} value={r}>
                    {ROLE_LABELS[r]}
                  </option>
                ))}
              </select>
            )}
            <button
              type="button"
              className="primary"
              disabled={approve.isPending}
              onClick={() => approve.mutate({ id, role: role || undefined })}
            >
              Approve
            </button>
            <button type="button" disabled={reject.isPending} onClick={() => setRejecting((v) => !v)}>
              Reject
            </button>
            <span className="muted">
              Checklist: <ChecklistState releaseId={c.releaseId} environmentId={c.environmentId} />
            </span>
          </>
        )}
        {can.decide && !decidable && c.status === "pending" && c.requestedById === userId && (
          <span className="muted" data-testid="own-change">
            You requested this change; someone else must approve it.
          </span>
        )}
        {can.decide && !decidable && c.status !== "pending" && (
          <span className="muted" data-testid="already-decided">
            Decided: {c.status}.
          </span>
        )}
        {can.withdraw && open && c.requestedById === userId && (
          <button type="button" disabled={withdraw.isPending} onClick={() => withdraw.mutate({ id })}>
            Withdraw
          </button>
        )}
        {can.deploy && c.status === "approved" && (
          <button
            type="button"
            className="primary"
            disabled={start.isPending}
            onClick={() =>
              start.mutate({
                releaseId: c.releaseId,
                environmentId: c.environmentId,
                timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
              })
            }
          >
            Start production deployment
          </button>
        )}
      </div>
      {rejecting && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            reject.mutate({ id, reason: reason || undefined }, { onSuccess: () => setRejecting(false) });
          }}
        >
          <div className="field" style={{ flex: 1 }}>
            <label htmlFor="reject-reason">Reason for rejecting</label>
            <input
              id="reject-reason"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              style={{ width: "100%" }}
            />
          </div>
          <div className="field">
            <button type="submit" className="danger">
              Confirm rejection
            </button>
          </div>
        </form>
      )}

      <ChangeSchedule
        change={{
          id: c.id,
          status: c.status,
          requiresWindow: c.policy.requiresWindow,
          serviceId: c.environment.serviceId,
        }}
        canSchedule={can.deploy}
      />

      <h3>Checklist for {c.environment.name}</h3>
      <Checklist releaseId={c.releaseId} environmentId={c.environmentId} canTick={can.tick && open} />
    </section>
  );
}
