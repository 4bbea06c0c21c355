/** The live split between the two slots, as a bar. */
export function TrafficSplit({ weights, live }: { weights: { blue: number; green: number } | null; live?: "blue" | "green" }) {
  if (!weights) return <span className="muted">no traffic data</span>;
  return (
    <div className="split" role="img" aria-label={`blue ${weights.blue}%, green ${weights.green}%`} data-testid="traffic-split">
      {weights.blue > 0 && (
        <div className="split-blue" style={{ width: `${weights.blue}%` }}>
          blue {weights.blue}%{live === "blue" ? " (live)" : ""}
        </div>
      )}
      {weights.green > 0 && (
        <div className="split-green" style={{ width: `${weights.green}%` }}>
          green {weights.green}%{live === "green" ? " (live)" : ""}
        </div>
      )}
    </div>
  );
}
