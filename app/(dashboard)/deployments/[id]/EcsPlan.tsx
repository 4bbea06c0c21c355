"use client";
/**
 * The AWS calls an ECS deployment makes, phase by phase, with the resources each touches, and the
 * rollback path. Calls that change AWS are marked.
 */
import { useQuery } from "@tanstack/react-query";
import { Fragment } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../../_lib/trpc";

interface Call {
  phase: string;
  api: string;
  action: string;
  resources: string[];
  write: boolean;
  when: string;
  detail: string;
}

function CallTable({ calls, label }: { calls: Call[]; label: string }) {
  const phases = [...new Set(calls.map((c) => c.phase))];
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th>Call</th>
          <th>Resources</th>
          <th>When</th>
          <th>What</th>
        </tr>
      </thead>
      <tbody>
        {phases.map((phase) => (
          <Fragment key={phase}>
            <tr>
              <th colSpan={4} style={{ textAlign: "left" }}>
                {phase}
              </th>
            </tr>
            {calls
              .filter((c) => c.phase === phase)
              .map((c, i) => (
                <tr key={`${phase}-${i}`} data-testid="ecs-plan-call">
                  <td style={{ whiteSpace: "nowrap" }}>
                    <span className="mono">
                      {c.api === "http" ? "" : `${c.api}:`}
                      {c.action}
                    </span>
                    {c.write && (
                      <span className="badge" style={{ marginLeft: "0.4rem" }} title="changes AWS">
                        write
                      </span>
                    )}
                  </td>
                  <td className="mono" style={{ wordBreak: "break-all" }}>
                    {c.resources.join(", ")}
                  </td>
                  <td className="muted">{c.when}</td>
                  <td>{c.detail}</td>
                </tr>
              ))}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}

/** Mount where the deployment's environment targets ECS; `deploymentId` uses the deployment's own policy and slots. */
export function EcsPlan({
  environmentId,
  releaseId,
  deploymentId,
}: {
  environmentId: string;
  releaseId: string;
  deploymentId?: string;
}) {
  const trpc = useTRPC();
  const plan = useQuery({
    ...trpc.targets.plan.queryOptions({ environmentId, releaseId, deploymentId }),
    staleTime: 60_000,
  });
  if (plan.error) return <Notice kind="error">{errorMessage(plan.error)}</Notice>;
  if (!plan.data) return <p className="muted">Planning…</p>;
  const p = plan.data;
  return (
    <section aria-label="AWS calls">
      <h2>AWS calls</h2>
      <p className="muted">
        {p.release.version} goes to {p.targetSlot} (live: {p.liveSlot}) in {p.steps.join(" → ")}%. Every pass reads AWS
        afresh; each write is skipped when AWS already holds the wanted state.
      </p>
      <CallTable calls={p.calls} label="AWS calls of the deployment" />
      <h3>Rollback</h3>
      <CallTable calls={p.rollback} label="AWS calls of a rollback" />
    </section>
  );
}
