/** "30m", "90s", "1h", "500ms" → milliseconds; null when it is not a duration. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim());
  if (!match) return null;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : null;
}

/** 75_000 → "1m 15s": how long a step or a deployment took, for people reading a CI log. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
