"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useRef, useState } from "react";
import { MetricsCharts } from "@/components/MetricsCharts";
import { Notice } from "@/components/Notice";
import { StatusBadge } from "@/components/StatusBadge";
import { TrafficSplit } from "@/components/TrafficSplit";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../../_lib/trpc";
import { EcsPlan } from "./EcsPlan";
import { Survey } from "./Survey";
import { useEnvironmentMetrics } from "./useEnvironmentMetrics";

type Can = { pause: boolean; resume: boolean; promote: boolean; rollback: boolean; abort: boolean; survey: boolean };
type LiveGate = { gate: string; outcome: string; observed: number | null; threshold: number; detail: string };

const ACTIVE = ["preparing", "deploying_green", "smoke_testing", "shifting", "validating", "paused", "rolling_back"];
const GATE_LABELS: Record<string, string> = {
  min_requests: "Minimum requests",
  error_rate_absolute: "Error rate (%)",
  error_rate_vs_live: "Error rate above live (pp)",
  latency_p95: "p95 latency (ms)",
};

export function DeploymentView({ deploymentId, userId, can }: { deploymentId: string; userId: string; can: Can }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = trpc.deployments.get.queryKey({ id: deploymentId });
  const deployment = useQuery({ ...trpc.deployments.get.queryOptions({ id: deploymentId }), refetchInterval: 5000 });
  const refresh = useCallback(() => void queryClient.invalidateQueries({ queryKey: key }), [queryClient, key]);
  const [liveGates, setLiveGates] = useState<{ stepIndex: number; gates: LiveGate[] } | null>(null);
  const [detail, setDetail] = useState<string | null>(null);
  const [weights, setWeights] = useState<{ blue: number; green: number } | null>(null);
  const environmentId = deployment.data?.environment.id;

  useRealtimeEvent("deployment:changed", refresh, [`deployment:${deploymentId}`]);
  useRealtimeEvent(
    "deployment:detail",
    useCallback((e: { deploymentId: string; detail: string }) => e.deploymentId === deploymentId && setDetail(e.detail), [deploymentId]),
    [`deployment:${deploymentId}`],
  );
  useRealtimeEvent(
    "deployment:gates",
    useCallback((e: { deploymentId: string; stepIndex: number; gates: LiveGate[] }) => e.deploymentId === deploymentId && setLiveGates(e), [deploymentId]),
    [`deployment:${deploymentId}`],
  );
  useRealtimeEvent(
    "metrics",
    useCallback((e: { environmentId: string; weights: { blue: number; green: number } }) => e.environmentId === environmentId && setWeights(e.weights), [environmentId]),
    environmentId ? [`env:${environmentId}`] : [],
  );
  const points = useEnvironmentMetrics(environmentId);

  const onDone = { onSuccess: refresh, onSettled: refresh };
  const pause = useMutation(trpc.deployments.pause.mutationOptions(onDone));
  const resume = useMutation(trpc.deployments.resume.mutationOptions(onDone));
  const promote = useMutation(trpc.deployments.promote.mutationOptions(onDone));
  const rollback = useMutation(trpc.deployments.rollback.mutationOptions(onDone));
  const abort = useMutation(trpc.deployments.abort.mutationOptions(onDone));
  const dialog = useRef<HTMLDialogElement>(null);

  if (deployment.error) return <Notice kind="error">{errorMessage(deployment.error)}</Notice>;
  const d = deployment.data;
  if (!d) return <p className="muted">Loading…</p>;
  const active = ACTIVE.includes(d.status);
  const commandError = pause.error ?? resume.error ?? promote.error ?? rollback.error ?? abort.error;
  const command = { deploymentId: d.id, expectedCommandVersion: d.commandVersion };
  const busy = pause.isPending || resume.isPending || promote.isPending || rollback.isPending || abort.isPending;
  const statusDetail = active ? (detail ?? d.statusDetail) : null;
  const shownWeights = active ? (weights ?? d.weights) : d.weights;
  const trafficMoved = d.events.some((e) => e.kind === "step");
  const gatesNow = liveGates && active && liveGates.stepIndex === d.stepIndex ? liveGates.gates : null;
  const figures = d.figures as null | { durationSeconds: number; breachToRollbackSeconds: number | null; errorRateChangePp: number | null; secondsWithoutSuccess: number; targets: Record<string, number> };

  return (
    <>
      <p className="muted">
        <Link href={`/services/${d.service.id}`}>{d.service.name}</Link> · {d.environment.name}
        {d.environment.production ? " (production)" : ""} · started {new Date(d.startedAt).toLocaleString()}
        {d.startedBy ? ` by ${d.startedBy.name}` : ""}
        {d.emergency ? " · emergency" : ""} · <Link href={`/deployments/${d.id}/report`}>Change record</Link>
      </p>
      <div className="section-head">
        <h1 style={{ marginBottom: 0 }}>
          {d.release.version} <StatusBadge status={d.status} />
        </h1>
        <div className="controls">
          {can.pause && ["preparing", "deploying_green", "smoke_testing", "shifting", "validating"].includes(d.status) && (
            <button type="button" disabled={busy} onClick={() => pause.mutate(command)}>
              Pause
            </button>
          )}
          {can.resume && d.status === "paused" && (
            <button type="button" className="primary" disabled={busy} onClick={() => resume.mutate(command)}>
              Resume
            </button>
          )}
          {can.promote && ["shifting", "validating"].includes(d.status) && (
            <button type="button" disabled={busy} onClick={() => promote.mutate(command)}>
              Promote now
            </button>
          )}
          {can.abort && !trafficMoved && ["preparing", "deploying_green", "smoke_testing", "paused"].includes(d.status) && (
            <button type="button" disabled={busy} onClick={() => abort.mutate(command)}>
              Abort
            </button>
          )}
          {can.rollback && ["preparing", "deploying_green", "smoke_testing", "shifting", "validating", "paused"].includes(d.status) && (
            <button type="button" className="danger" disabled={busy} onClick={() => dialog.current?.showModal()}>
              Roll back
            </button>
          )}
        </div>
      </div>
      <dialog ref={dialog} aria-label="Confirm rollback">
        <form
          method="dialog"
          onSubmit={(e) => {
            const reason = String(new FormData(e.currentTarget).get("reason") ?? "").trim();
            rollback.mutate({ ...command, reason: reason || undefined });
          }}
        >
          <h2 style={{ marginTop: 0 }}>Roll back {d.release.version}?</h2>
          <p>All traffic goes back to {d.fromSlot} at once, then {d.targetSlot} is scaled down.</p>
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
      {statusDetail && (
        <p className="muted" data-testid="status-detail">
          {statusDetail}
        </p>
      )}
      {d.failureReason && <Notice kind="error">{d.failureReason}</Notice>}
      {d.rollbackReason && <RollbackReason reason={d.rollbackReason as Record<string, unknown>} />}

      <section className="card" style={{ marginTop: "1rem" }}>
        <div className="section-head">
          <div className="steps" aria-label="Traffic steps">
            {d.steps.map((step, i) => {
              const done = i < d.stepIndex || (i === d.stepIndex && ["validating", "succeeded"].includes(d.status)) || (d.status === "smoke_testing" && trafficMoved && i === d.stepIndex);
              const current = i === d.stepIndex && d.status === "shifting";
              return (
                <span key={step} className={`step${done ? " done" : ""}${current ? " current" : ""}`}>
                  {step}%
                </span>
              );
            })}
            <span className="muted">
              → {d.targetSlot} (from {d.fromSlot})
            </span>
          </div>
          <TrafficSplit weights={shownWeights} />
        </div>
      </section>

      {figures && <Figures figures={figures} />}
      {d.environment.production && d.status === "succeeded" && <Survey deploymentId={d.id} userId={userId} canSubmit={can.survey} />}

      <MetricsCharts points={points} />

      {d.environment.target === "ecs" && <EcsPlan environmentId={d.environment.id} releaseId={d.release.id} deploymentId={d.id} />}

      <h2>Gates</h2>
      <GateTable results={d.gateResults} live={gatesNow} currentStep={d.stepIndex} steps={d.steps} />

      <h2>Smoke tests</h2>
      {d.smokeResults.length === 0 ? (
        <p className="muted">Not run yet.</p>
      ) : (
        <table aria-label="Smoke tests">
          <thead>
            <tr>
              <th>Round</th>
              <th>Check</th>
              <th>Result</th>
              <th>Status</th>
              <th>Latency</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {d.smokeResults.map((r, i) => (
              <tr key={i}>
                <td>{r.round === "pre_traffic" ? "before traffic" : "at 100%"}</td>
                <td>{r.name}</td>
                <td className={r.ok ? "outcome-pass" : "outcome-fail"}>{r.ok ? "passed" : "failed"}</td>
                <td>{r.status ?? "—"}</td>
                <td>{r.latencyMs !== null ? `${r.latencyMs} ms` : "—"}</td>
                <td>{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Timeline</h2>
      <ol className="timeline" aria-label="Timeline">
        {d.events.map((e) => (
          <li key={e.seq} data-kind={e.kind}>
            <span className="muted mono">#{e.seq}</span>
            <span className="muted">{new Date(e.at).toLocaleTimeString()}</span>
            <span>{e.message}</span>
          </li>
        ))}
      </ol>
    </>
  );
}

function RollbackReason({ reason }: { reason: Record<string, unknown> }) {
  if (reason.kind === "gate") {
    return (
      <Notice kind="error">
        <span data-testid="failed-gate">
          Gate <strong>{GATE_LABELS[String(reason.gate)] ?? String(reason.gate)}</strong> failed at {String(reason.weight)}%: observed <strong>{String(reason.observed)}</strong>, threshold{" "}
          {String(reason.threshold)}
        </span>
      </Notice>
    );
  }
  if (reason.kind === "manual") return <Notice kind="warn">Rolled back by {String(reason.by ?? "someone")}{reason.reason ? `: ${String(reason.reason)}` : ""}</Notice>;
  if (reason.kind === "smoke") return <Notice kind="error">Smoke tests failed at 100%: {(reason.checks as string[]).join(", ")}</Notice>;
  return null;
}

function GateTable({
  results,
  live,
  currentStep,
  steps,
}: {
  results: { stepIndex: number; weight: number; gate: string; outcome: string; observed: number | null; threshold: number; detail: string }[];
  live: LiveGate[] | null;
  currentStep: number;
  steps: number[];
}) {
  const rows = live ? [...results.filter((r) => r.stepIndex !== currentStep), ...live.map((g) => ({ ...g, stepIndex: currentStep, weight: steps[currentStep] ?? 100 }))] : results;
  if (rows.length === 0) return <p className="muted">No gate evaluated yet.</p>;
  return (
    <table aria-label="Gate results">
      <thead>
        <tr>
          <th>Step</th>
          <th>Gate</th>
          <th>Observed</th>
          <th>Threshold</th>
          <th>Outcome</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {rows
          .sort((a, b) => a.stepIndex - b.stepIndex)
          .map((r) => (
            <tr key={`${r.stepIndex}-${r.gate}`} data-gate={r.gate} data-outcome={r.outcome}>
              <td>{r.stepIndex >= steps.length ? "validation" : `${r.weight}%`}</td>
              <td>{GATE_LABELS[r.gate] ?? r.gate}</td>
              <td>{r.observed ?? "—"}</td>
              <td>{r.gate === "min_requests" ? `≥ ${r.threshold}` : `≤ ${r.threshold}`}</td>
              <td className={`outcome-${r.outcome}`}>{r.outcome}</td>
              <td>{r.detail}</td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

function Figures({ figures }: { figures: { durationSeconds: number; breachToRollbackSeconds: number | null; errorRateChangePp: number | null; secondsWithoutSuccess: number; targets: Record<string, number> } }) {
  const items: [string, string, number | null, number, string][] = [
    ["Duration", "durationSeconds", figures.durationSeconds, figures.targets.durationSeconds!, "s"],
    ["Breach to 100% live", "breachToRollbackSeconds", figures.breachToRollbackSeconds, figures.targets.breachToRollbackSeconds!, "s"],
    ["Error-rate change after promotion", "errorRateChangePp", figures.errorRateChangePp, figures.targets.errorRateChangePp!, "pp"],
    ["Seconds without a successful response", "secondsWithoutSuccess", figures.secondsWithoutSuccess, figures.targets.secondsWithoutSuccess!, "s"],
  ];
  return (
    <section className="figures" style={{ marginTop: "1rem" }} aria-label="Success figures">
      {items.map(([label, key, value, target, unit]) => {
        const missed = value !== null && (key === "secondsWithoutSuccess" ? value > target : value >= target);
        return (
          <div key={key} className={`figure${missed ? " missed" : ""}`} data-figure={key}>
            <div className="muted">{label}</div>
            <div className="value">{value === null ? "—" : `${value} ${unit}`}</div>
            <div className="target">
              target {key === "secondsWithoutSuccess" ? "" : "< "}
              {target} {unit}
            </div>
          </div>
        );
      })}
    </section>
  );
}
