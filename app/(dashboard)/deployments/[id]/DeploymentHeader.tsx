"use client";
/**
 * The deployment's header: what is deployed where, its status, and the commands it takes now. Which
 * commands a deployment takes comes from the server (the state machine, via the read model); the
 * page only leaves out those the person may not give.
 */
import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRef } from "react";
import { Notice } from "@/components/Notice";
import { StatusBadge } from "@/components/StatusBadge";
import { formatDateTime } from "@/lib/format";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import type { Can, DeploymentData } from "./types";
import { gateLabel } from "./words";
import { formText } from "../../../../lib/form-text";

const COMMAND_LABELS = {
  pause: "Pause",
  resume: "Resume",
  promote: "Promote now",
  abort: "Abort",
  rollback: "Roll back",
} as const;

export function DeploymentHeader({ d, can, refresh }: { d: DeploymentData; can: Can; refresh: () => void }) {
  const trpc = useTRPC();
  const onDone = { onSuccess: refresh, onSettled: refresh };
  const pause = useMutation(trpc.deployments.pause.mutationOptions(onDone));
  const resume = useMutation(trpc.deployments.resume.mutationOptions(onDone));
  const promote = useMutation(trpc.deployments.promote.mutationOptions(onDone));
  const rollback = useMutation(trpc.deployments.rollback.mutationOptions(onDone));
  const abort = useMutation(trpc.deployments.abort.mutationOptions(onDone));
  const dialog = useRef<HTMLDialogElement>(null);
  const mutations = { pause, resume, promote, rollback, abort };
  const commandError = pause.error ?? resume.error ?? promote.error ?? rollback.error ?? abort.error;
  const command = { deploymentId: d.id, expectedCommandVersion: d.commandVersion };
  const busy = Object.values(mutations).some((m) => m.isPending);
  const offered = (Object.keys(COMMAND_LABELS) as (keyof typeof COMMAND_LABELS)[]).filter(
    (c) => d.commands.includes(c) && can[c],
  );

  return (
    <>
      <p className="muted">
        <Link href={`/services/${d.service.id}`}>{d.service.name}</Link> · {d.environment.name}
        {d.environment.production ? " (production)" : ""} · started {formatDateTime(d.startedAt)}
        {d.startedBy ? ` by ${d.startedBy.name}` : ""}
        {d.emergency ? " · emergency" : ""} · <Link href={`/deployments/${d.id}/report`}>Change record</Link>
      </p>
      <div className="section-head">
        <h1 style={{ marginBottom: 0 }}>
          {d.release.version} <StatusBadge status={d.status} />
        </h1>
        <div className="controls" data-testid="commands">
          {offered.map((c) =>
            c === "rollback" ? (
              <button
                key={c}
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => dialog.current?.showModal()}
              >
                {COMMAND_LABELS[c]}
              </button>
            ) : (
              <button
                key={c}
                type="button"
                className={c === "resume" ? "primary" : undefined}
                disabled={busy}
                onClick={() => mutations[c].mutate(command)}
              >
                {COMMAND_LABELS[c]}
              </button>
            ),
          )}
        </div>
      </div>
      <dialog ref={dialog} aria-label="Confirm rollback">
        <form
          method="dialog"
          onSubmit={(e) => {
            const reason = formText(new FormData(e.currentTarget), "reason").trim();
            rollback.mutate({ ...command, reason: reason || undefined });
          }}
        >
          <h2 style={{ marginTop: 0 }}>Roll back {d.release.version}?</h2>
          <p>
            All traffic goes back to the live slot ({d.fromSlot}) at once, then the new release&apos;s slot (
            {d.targetSlot}) is scaled down.
          </p>
          <div className="field">
            <label htmlFor="rollback-reason">Reason (optional)</label>
            <input id="rollback-reason" name="reason" style={{ width: "100%" }} />
          </div>
          <div className="controls">
            <button type="submit" className="danger">
              Confirm rollback
            </button>
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
      {commandError && <Notice kind="error">{errorMessage(commandError)}</Notice>}
      {d.active && d.statusDetail && (
        <p className="muted" data-testid="status-detail">
          {d.statusDetail}
        </p>
      )}
      {d.failureReason && <Notice kind="error">{d.failureReason}</Notice>}
      {d.rollbackReason && <RollbackReason reason={d.rollbackReason as Record<string, unknown>} />}
    </>
  );
}

/** A stored reason's field as text: only strings and numbers are shown (anything else would read "[object Object]"). */
function text(value: unknown, fallback = ""): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

function RollbackReason({ reason }: { reason: Record<string, unknown> }) {
  if (reason.kind === "gate") {
    return (
      <Notice kind="error">
        <span data-testid="failed-gate">
          Rolled back at {String(reason.weight)} %: <strong>{gateLabel(String(reason.gate))}</strong> failed.{" "}
          {text(reason.detail, `observed ${text(reason.observed)}, threshold ${text(reason.threshold)}`)}.
        </span>
      </Notice>
    );
  }
  if (reason.kind === "manual")
    return (
      <Notice kind="warn">
        Rolled back by {text(reason.by, "someone")}
        {reason.reason ? `: ${text(reason.reason)}` : ""}
      </Notice>
    );
  if (reason.kind === "smoke")
    return <Notice kind="error">Smoke tests failed at 100%: {(reason.checks as string[]).join(", ")}</Notice>;
  return null;
}
