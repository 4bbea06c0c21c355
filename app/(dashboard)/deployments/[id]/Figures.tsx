/**
 * The deployment's success figures against their targets. A rollback shows how long it took from
 * what caused it: a breach (gate or smoke test) or a person's command; with no rollback, neither.
 */
import { formatCount, formatDuration, formatPp } from "@/lib/format";
import { figureItems, type FiguresShape, type Kind } from "./figure-items";
import type { DeploymentData } from "./types";

const format = (value: number | null, kind: Kind) =>
  kind === "seconds" ? formatDuration(value) : kind === "pp" ? formatPp(value) : formatCount(value);

export function Figures({ d }: { d: DeploymentData }) {
  const figures = d.figures as null | FiguresShape;
  if (!figures) return null;
  const reason = d.rollbackReason as null | { kind?: string };
  return (
    <section className="figures" style={{ marginTop: "1rem" }} aria-label="Success figures">
      {figureItems(figures, reason?.kind ?? null).map(({ label, key, value, target, kind }) => {
        const missed =
          value !== null && target !== null && (key === "secondsWithoutSuccess" ? value > target : value >= target);
        return (
          <div key={key} className={`figure${missed ? " missed" : ""}`} data-figure={key}>
            <div className="muted">{label}</div>
            <div className="value">{format(value, kind)}</div>
            {target !== null && (
              <div className="target">
                target {key === "secondsWithoutSuccess" ? "" : "< "}
                {format(target, kind)}
              </div>
            )}
          </div>
        );
      })}
    </section>
  );
}
