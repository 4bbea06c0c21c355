"use client";
/** A print-ready change record of one deployment: everything an auditor or change board asks for. */
import { useQuery } from "@tanstack/react-query";
import { Notice } from "@/components/Notice";
import type { GovernanceSnapshot } from "@/server/governance/start-guard";
import { errorMessage, useTRPC } from "../../../../_lib/trpc";

type StepMetrics = { green?: { requests: number; errors: number; errorRate: number | null; p95: number | null }; live?: { requests: number; errors: number; errorRate: number | null; p95: number | null } };
const pct = (rate: number | null | undefined) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 100_000) / 1000}%`);
const when = (value: string | Date | null | undefined) => (value ? new Date(value).toLocaleString() : "—");

export function DeploymentReport({ deploymentId }: { deploymentId: string }) {
  const trpc = useTRPC();
  const deployment = useQuery(trpc.deployments.get.queryOptions({ id: deploymentId }));
  const surveys = useQuery(trpc.surveys.forDeployment.queryOptions({ deploymentId }));
  if (deployment.error) return <Notice kind="error">{errorMessage(deployment.error)}</Notice>;
  const d = deployment.data;
  if (!d) return <p className="muted">Loading…</p>;
  const g = d.governance as GovernanceSnapshot | null;
  const figures = d.figures as null | { durationSeconds: number; breachToRollbackSeconds: number | null; errorRateChangePp: number | null; secondsWithoutSuccess: number };
  const steps = d.events.filter((e) => e.kind === "step_passed" || e.kind === "gate_failed" || e.kind === "succeeded");

  return (
    <article className="report" data-testid="deployment-report">
      <div className="section-head no-print">
        <span className="muted">Change record</span>
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
      </div>
      <h1>
        Deployment of {d.service.name} {d.release.version} to {d.environment.name}
      </h1>
      <table className="report-facts">
        <tbody>
          <tr><th>Outcome</th><td data-testid="report-status">{d.status.replace(/_/g, " ")}</td><th>Deployment</th><td className="mono">{d.id}</td></tr>
          <tr><th>Started</th><td>{when(d.startedAt)} by {d.startedBy?.name ?? "—"}</td><th>Finished</th><td>{when(d.finishedAt)}</td></tr>
          <tr><th>Artifact</th><td className="mono">{d.release.artifact}</td><th>Commit</th><td className="mono">{d.release.commitSha ?? "—"}</td></tr>
          <tr><th>Slots</th><td>{d.fromSlot} → {d.targetSlot}</td><th>Steps</th><td>{d.steps.join(" → ")}% · bake {d.policy.bakeSeconds} s</td></tr>
          {d.emergency && <tr><th>Emergency</th><td colSpan={3}>Authorised emergency maintenance {g?.emergency ? `by ${g.emergency.authorizedBy?.name ?? "?"}: ${g.emergency.reason}` : ""}</td></tr>}
        </tbody>
      </table>

      <h2>Change request and approvals</h2>
      {g?.changeRequest ? (
        <>
          <p>
            “{g.changeRequest.title}” ({g.changeRequest.type.replace(/_/g, "-")}, revision {g.changeRequest.revision}), requested by {g.changeRequest.requestedBy.name}.
          </p>
          <table aria-label="Approvals">
            <thead><tr><th>Role</th><th>Approver</th><th>Decision</th><th>When</th></tr></thead>
            <tbody>
              {g.approvals.map((a, i) => (
                <tr key={i}><td>{a.role.replace(/_/g, " ")}</td><td>{a.approver.name} ({a.approver.email})</td><td>{a.decision}{a.reason ? `: ${a.reason}` : ""}</td><td>{when(a.at)}</td></tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p className="muted">{d.emergency ? "None: deployed under an authorised emergency." : "None recorded (not a production deployment)."}</p>
      )}
      {g?.window && <p>Started inside the maintenance window “{g.window.name}”, {when(g.window.start)} – {when(g.window.end)}.</p>}

      <h2>Checklist</h2>
      {g && g.checklist.length > 0 ? (
        <table aria-label="Checklist at start">
          <thead><tr><th>Item</th><th>Done</th><th>Evidence</th></tr></thead>
          <tbody>
            {g.checklist.map((i) => {
              const ev = i.evidence as null | { status: string; url: string | null; token: string; at: string };
              return (
                <tr key={i.key}>
                  <td>{i.title}{i.required ? "" : " (optional)"}</td>
                  <td>{i.done ? "yes" : "no"}</td>
                  <td>{ev ? `CI (${ev.token}): ${ev.status} ${ev.url ?? ""} ${when(ev.at)}` : i.done ? `${i.completedBy?.name ?? "?"}: ${i.note ?? ""} ${i.link ?? ""} ${when(i.completedAt)}` : ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <p className="muted">No checklist recorded.</p>
      )}

      <h2>Traffic steps and metrics</h2>
      <table aria-label="Metrics at each step">
        <thead><tr><th>Step</th><th>Green requests</th><th>Green errors</th><th>Green p95</th><th>Live requests</th><th>Live errors</th><th>Live p95</th></tr></thead>
        <tbody>
          {steps.map((e) => {
            const data = (e.data ?? {}) as { weight?: number; metrics?: StepMetrics; stepIndex?: number };
            const m = data.metrics ?? {};
            return (
              <tr key={e.seq}>
                <td>{e.kind === "succeeded" ? "validation" : `${data.weight ?? "?"}%`}{e.kind === "gate_failed" ? " (gate failed)" : ""}</td>
                <td>{m.green?.requests ?? "—"}</td><td>{pct(m.green?.errorRate)}</td><td>{m.green?.p95 ?? "—"}</td>
                <td>{m.live?.requests ?? "—"}</td><td>{pct(m.live?.errorRate)}</td><td>{m.live?.p95 ?? "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <h2>Gate results</h2>
      <table aria-label="Gate results">
        <thead><tr><th>Step</th><th>Gate</th><th>Observed</th><th>Threshold</th><th>Outcome</th></tr></thead>
        <tbody>
          {d.gateResults.map((r) => (
            <tr key={`${r.stepIndex}-${r.gate}`}><td>{r.stepIndex >= d.steps.length ? "validation" : `${r.weight}%`}</td><td>{r.gate.replace(/_/g, " ")}</td><td>{r.observed ?? "—"}</td><td>{r.threshold}</td><td>{r.outcome}</td></tr>
          ))}
        </tbody>
      </table>

      <h2>Smoke tests</h2>
      <table aria-label="Smoke tests">
        <tbody>
          {d.smokeResults.map((r, i) => (
            <tr key={i}><td>{r.round === "pre_traffic" ? "before traffic" : "at 100%"}</td><td>{r.name}</td><td>{r.ok ? "passed" : "failed"}</td><td>{r.detail}</td></tr>
          ))}
        </tbody>
      </table>

      <h2>Rollback and figures</h2>
      {d.rollbackReason ? <p>Rollback: {JSON.stringify(d.rollbackReason)}; breach at {when(d.breachAt)}, traffic restored {when(d.rollbackCompletedAt)}.</p> : <p>No rollback.</p>}
      {figures && (
        <ul>
          <li>Duration: {figures.durationSeconds} s (target under 1800 s)</li>
          <li>Breach to all traffic on the live slot: {figures.breachToRollbackSeconds ?? "—"} s (target under 300 s)</li>
          <li>Error-rate change after promotion: {figures.errorRateChangePp ?? "—"} pp (target under 0.1)</li>
          <li>Seconds without a successful response: {figures.secondsWithoutSuccess} (target 0)</li>
        </ul>
      )}

      <h2>Timeline</h2>
      <ol aria-label="Timeline">
        {d.events.map((e) => (
          <li key={e.seq}>{when(e.at)} — {e.message}</li>
        ))}
      </ol>

      {surveys.data && surveys.data.length > 0 && (
        <>
          <h2>Survey</h2>
          <ul>{surveys.data.map((s, i) => <li key={i}>{s.by}: {s.rating}/5 {s.comment}</li>)}</ul>
        </>
      )}
    </article>
  );
}
