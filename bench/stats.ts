/** Percentiles and the one-line output every benchmark prints: `BENCH <name> key=value …`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function round(value: number, digits = 2): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

export function benchLine(name: string, fields: Record<string, number | string>): string {
  return `BENCH ${name} ${Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "number" ? round(v) : v}`)
    .join(" ")}`;
}
