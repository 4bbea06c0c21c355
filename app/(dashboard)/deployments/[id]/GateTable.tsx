/** Every step's gate verdicts: the new release's slot against the live slot, each named by role and colour. */
import type { Explanation } from "@/server/releases/judge/judge";
import { formatCount, formatNumber } from "@/lib/format";
import type { DeploymentData } from "./types";
import type { LiveGates } from "./useDeployment";
import { GATE_UNITS, gateLabel } from "./words";

type Row = {
  stepIndex: number;
  weight: number;
  gate: string;
  outcome: string;
  observed: number | null;
  threshold: number;
  detail: string;
  explanation: Explanation | null;
};

export function GateTable({ d, live }: { d: DeploymentData; live: LiveGates }) {
  const current = live && d.active && live.stepIndex === d.stepIndex ? live.gates : null;
  const rows: Row[] = current
    ? [
        ...d.gateResults.filter((r) => r.stepIndex !== d.stepIndex),
        ...current.map((g) => ({ ...g, stepIndex: d.stepIndex, weight: d.steps[d.stepIndex] ?? 100 })),
      ]
    : d.gateResults;
  return (
    <section aria-label="Gates">
      <h2>Gates</h2>
      {rows.length === 0 ? (
        <p className="muted">No gate evaluated yet.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Gate results">
            <thead>
              <tr>
                <th>Step</th>
                <th>Gate</th>
                <th>
                  New release (<span className={`slot-name slot-${d.targetSlot}`}>{d.targetSlot}</span>)
                </th>
                <th>
                  Live (<span className={`slot-name slot-${d.fromSlot}`}>{d.fromSlot}</span>)
                </th>
                <th>Held to</th>
                <th>Confidence</th>
                <th>Outcome</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {[...rows]
                .sort((a, b) => a.stepIndex - b.stepIndex)
                .map((r) => (
                  <tr key={`${r.stepIndex}-${r.gate}`} data-gate={r.gate} data-outcome={r.outcome}>
                    <td>{r.stepIndex >= d.steps.length ? "validation" : `${r.weight}%`}</td>
                    <td>{gateLabel(r.gate)}</td>
                    <td>
                      {side(r.explanation?.new ?? { value: r.observed, requests: null }, GATE_UNITS[r.gate] ?? "")}
                    </td>
                    <td>{r.explanation?.live ? side(r.explanation.live, GATE_UNITS[r.gate] ?? "") : "—"}</td>
                    <td>
                      {r.explanation?.margin ??
                        (r.gate === "min_requests"
                          ? `≥ ${formatNumber(r.threshold)}`
                          : `≤ ${formatNumber(r.threshold)}`)}
                    </td>
                    <td data-confidence>
                      {r.explanation?.confidence == null
                        ? "—"
                        : `${Math.floor(r.explanation.confidence * 1000) / 10} %`}
                    </td>
                    <td className={`outcome-${r.outcome}`}>{r.outcome}</td>
                    <td>
                      {r.detail}
                      {r.explanation && (
                        <div className="muted gate-test">
                          {r.explanation.source
                            ? `${r.explanation.test}; figures from ${r.explanation.source}`
                            : r.explanation.test}
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** A value with its sample size: "3.1 % of 390". */
function side(figures: { value: number | null; requests: number | null }, unit: string) {
  if (figures.value === null) return "—";
  const value = formatNumber(figures.value);
  return figures.requests === null ? `${value}${unit}` : `${value}${unit} of ${formatCount(figures.requests)}`;
}
