/** The smoke checks run against the new release's slot, before traffic and at 100 %. */
import { formatMs } from "@/lib/format";
import type { DeploymentData } from "./types";

export function SmokeTests({ results }: { results: DeploymentData["smokeResults"] }) {
  return (
    <section aria-label="Smoke tests section">
      <h2>Smoke tests</h2>
      {results.length === 0 ? (
        <p className="muted">Not run yet.</p>
      ) : (
        <div className="table-scroll">
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
              {results.map((r, i) => (
                <tr key={i}>
                  <td>{r.round === "pre_traffic" ? "before traffic" : "at 100%"}</td>
                  <td>{r.name}</td>
                  <td className={r.ok ? "outcome-pass" : "outcome-fail"}>{r.ok ? "passed" : "failed"}</td>
                  <td>{r.status ?? "—"}</td>
                  <td>{r.latencyMs !== null ? formatMs(r.latencyMs) : "—"}</td>
                  <td>{r.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
