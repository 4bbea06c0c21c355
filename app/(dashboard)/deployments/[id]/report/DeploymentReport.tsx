"use client";
/** A print-ready change record of one deployment: everything an auditor or change board asks for. */
import { useQuery } from "@tanstack/react-query";
import { Notice } from "@/components/Notice";
import type { GovernanceSnapshot } from "@/server/governance/start-guard";
import {
  formatCount,
  formatDateTime,
  formatDuration,
  formatMs,
  formatNumber,
  formatPp,
  formatRate,
} from "@/lib/format";
import { errorMessage, useTRPC } from "../../../../_lib/trpc";
import { gateLabel, inWords } from "../words";

type StepMetrics = {
  green?: { requests: number; errors: number; errorRate: number | null; p95: number | null };
  live?: { requests: number; errors: number; errorRate: number | null; p95: number | null };
};
const pct = (rate: number | null | undefined) => formatRate(rate);
const when = formatDateTime;

type RollbackReasonShape =
  | { kind: "gate"; gate: string; weight: number; detail: string }
  | { kind: "smoke"; checks: string[] }
  | { kind: "manual"; by: string | null; reason: string | null };

function rollbackInWords(reason: RollbackReasonShape): string {
  if (reason.kind === "gate") return `“${gateLabel(reason.gate)}” failed at ${reason.weight} %: ${reason.detail}`;
  if (reason.kind === "smoke") return `smoke tests failed at 100 %: ${reason.checks.join(", ")}`;
  return `by ${reason.by ?? "someone"}${reason.reason ? `: ${reason.reason}` : ""}`;
}

export function DeploymentReport({ deploymentId }: { deploymentId: string }) {
  const trpc = useTRPC();
  const deployment = useQuery(trpc.deployments.get.queryOptions({ id: deploymentId }));
  const surveys = useQuery(trpc.surveys.forDeployment.queryOptions({ deploymentId }));
  if (deployment.error) return <Notice kind="error">{errorMessage(deployment.error)}</Notice>;
  const d = deployment.data;
  if (!d) return <p className="muted">Loading…</p>;
  const g = d.governance as GovernanceSnapshot | null;
  const figures = d.figures as null | {
    durationSeconds: number;
    breachToRollbackSeconds: number | null;
    commandToRollbackSeconds?: number | null;
    errorRateChangePp: number | null;
    secondsWithoutSuccess: number;
  };
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
          <tr>
            <th>Outcome</th>
            <td data-testid="report-status">{d.status.replace(/_/g, " ")}</td>
            <th>Deployment</th>
            <td className="mono">{d.id}</td>
          </tr>
          <tr>
            <th>Started</th>
            <td>
              {when(d.startedAt)} by {d.startedBy?.name ?? "—"}
            </td>
            <th>Finished</th>
            <td>{when(d.finishedAt)}</td>
          </tr>
          <tr>
            <th>Artifact</th>
            <td className="mono">{d.release.artifact}</td>
            <th>Commit</th>
            <td className="mono">{d.release.commitSha ?? "—"}</td>
          </tr>
          <tr>
            <th>Slots</th>
            <td>
              live {d.fromSlot} → new release on {d.targetSlot}
            </td>
            <th>Steps</th>
            <td>
              {d.steps.join(" → ")}% · bake {d.policy.bakeSeconds} s
            </td>
          </tr>
          {d.emergency && (
            <tr>
              <th>Emergency</th>
              <td colSpan={3}>
                Authorised emergency maintenance{" "}
                {g?.emergency ? `by ${g.emergency.authorizedBy?.name ?? "?"}: ${g.emergency.reason}` : ""}
              </td>
            </tr>
          )}
        </tbody>
      </table>

      <h2>Change request and approvals</h2>
      {g?.changeRequest ? (
        <>
          <p>
            “{g.changeRequest.title}” ({g.changeRequest.type.replace(/_/g, "-")}, revision {g.changeRequest.revision}),
            requested by {g.changeRequest.requestedBy.name}.
          </p>
          <table aria-label="Approvals">
            <thead>
              <tr>
                <th>Role</th>
                <th>Approver</th>
                <th>Decision</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {g.approvals.map((a, i) => (
                <tr key={i}>
                  <td>{a.role.replace(/_/g, " ")}</td>
                  <td>
                    {a.approver.name} ({a.approver.email})
                  </td>
                  <td>
                    {a.decision}
                    {a.reason ? `: ${a.reason}` : ""}
                  </td>
                  <td>{when(a.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p className="muted">
          {d.emergency
            ? "None: deployed under an authorised emergency."
            : "None recorded (not a production deployment)."}
        </p>
      )}
      {g?.window && (
        <p>
          Started inside the maintenance window “{g.window.name}”, {when(g.window.start)} – {when(g.window.end)}.
        </p>
      )}

      <h2>Checklist</h2>
      {g && g.checklist.length > 0 ? (
        <table aria-label="Checklist at start">
          <thead>
            <tr>
              <th>Item</th>
              <th>Done</th>
              <th>Evidence</th>
            </tr>
          </thead>
          <tbody>
            {g.checklist.map((i) => {
              const ev = i.evidence as null | { status: string; url: string | null; token: string; at: string };
              return (
                <tr key={i.key}>
                  <td>
                    {i.title}
                    {i.required ? "" : " (optional)"}
                  </td>
                  <td>{i.done ? "yes" : "no"}</td>
                  <td>
                    {ev
                      ? `CI (${ev.token}): ${ev.status} ${ev.url ?? ""} ${when(ev.at)}`
                      : i.done
                        ? `${i.completedBy?.name ?? "?"}: ${i.note ?? ""} ${i.link ?? ""} ${when(i.completedAt)}`
                        : ""}
                  </td>
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
        <thead>
          <tr>
            <th>Step</th>
            <th>New release ({d.targetSlot}) requests</th>
            <th>New release ({d.targetSlot}) errors</th>
            <th>New release ({d.targetSlot}) p95</th>
            <th>Live ({d.fromSlot}) requests</th>
            <th>Live ({d.fromSlot}) errors</th>
            <th>Live ({d.fromSlot}) p95</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((e) => {
            const data = (e.data ?? {}) as { weight?: number; metrics?: StepMetrics; stepIndex?: number };
            const m = data.metrics ?? {};
            return (
              <tr key={e.seq}>
                <td>
                  {e.kind === "succeeded" ? "validation" : `${data.weight ?? "?"}%`}
                  {e.kind === "gate_failed" ? " (gate failed)" : ""}
                </td>
                <td>{formatCount(m.green?.requests)}</td>
                <td>{pct(m.green?.errorRate)}</td>
                <td>{formatMs(m.green?.p95)}</td>
                <td>{formatCount(m.live?.requests)}</td>
                <td>{pct(m.live?.errorRate)}</td>
                <td>{formatMs(m.live?.p95)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <h2>Gate results</h2>
      <table aria-label="Gate results">
        <thead>
          <tr>
            <th>Step</th>
            <th>Gate</th>
            <th>Observed</th>
            <th>Threshold</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {d.gateResults.map((r) => (
            <tr key={`${r.stepIndex}-${r.gate}`}>
              <td>{r.stepIndex >= d.steps.length ? "validation" : `${r.weight}%`}</td>
              <td>{gateLabel(r.gate)}</td>
              <td>{formatNumber(r.observed)}</td>
              <td>{formatNumber(r.threshold)}</td>
              <td>{r.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Smoke tests</h2>
      <table aria-label="Smoke tests">
        <tbody>
          {d.smokeResults.map((r, i) => (
            <tr key={i}>
              <td>{r.round === "pre_traffic" ? "before traffic" : "at 100%"}</td>
              <td>{r.name}</td>
              <td>{r.ok ? "passed" : "failed"}</td>
              <td>{r.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Rollback and figures</h2>
      {d.rollbackReason ? (
        <p>
          Rollback: {rollbackInWords(d.rollbackReason as RollbackReasonShape)};{" "}
          {(d.rollbackReason as RollbackReasonShape).kind === "manual" ? "commanded" : "breach"} at {when(d.breachAt)},
          traffic restored {when(d.rollbackCompletedAt)}.
        </p>
      ) : (
        <p>No rollback.</p>
      )}
      {figures && (
        <ul>
          <li>Duration: {formatDuration(figures.durationSeconds)} (target under 30 min)</li>
          {figures.breachToRollbackSeconds !== null && (
            <li>
              Breach to all traffic on the live slot: {formatDuration(figures.breachToRollbackSeconds)} (target under 5
              min)
            </li>
          )}
          {figures.commandToRollbackSeconds != null && (
            <li>
              Rollback command to all traffic on the live slot: {formatDuration(figures.commandToRollbackSeconds)}{" "}
              (target under 5 min)
            </li>
          )}
          <li>Error-rate change after promotion: {formatPp(figures.errorRateChangePp)} (target under 0.1 pp)</li>
          <li>Seconds without a successful response: {formatDuration(figures.secondsWithoutSuccess)} (target 0 s)</li>
        </ul>
      )}

      <h2>Timeline</h2>
      <ol aria-label="Timeline">
        {d.events.map((e) => (
          <li key={e.seq}>
            {when(e.at)} — {inWords(e.message)}
          </li>
        ))}
      </ol>

      {surveys.data && surveys.data.length > 0 && (
        <>
          <h2>Survey</h2>
          <ul>
            {surveys.data.map((s, i) => (
              <li key={i}>
                {s.by}: {s.rating}/5 {s.comment}
              </li>
            ))}
          </ul>
        </>
      )}
    </article>
  );
}
