/** The split between the two slots, as a bar; each part names its slot's colour and, where given, its role ("blue 50% · new"). */
export function TrafficSplit({
  weights,
  live,
  roles,
}: {
  weights: { blue: number; green: number } | null;
  live?: "blue" | "green";
  roles?: { blue: string; green: string };
}) {
  if (!weights) return <span className="muted">no traffic data</span>;
  const label = (slot: "blue" | "green") =>
    `${slot} ${weights[slot]}%${roles ? ` · ${roles[slot]}` : live === slot ? " (live)" : ""}`;
  return (
    <div
      className="split"
      role="img"
      aria-label={`blue ${weights.blue}%, green ${weights.green}%`}
      data-testid="traffic-split"
      data-blue={weights.blue}
      data-green={weights.green}
    >
      {weights.blue > 0 && (
        <div className="split-blue" style={{ width: `${weights.blue}%` }}>
          {label("blue")}
        </div>
      )}
      {weights.green > 0 && (
        <div className="split-green" style={{ width: `${weights.green}%` }}>
          {label("green")}
        </div>
      )}
    </div>
  );
}
