/**
 * Latency distributions as histogram buckets ({ upToMs, count }, ascending), as the local data plane's
 * HdrHistograms and Prometheus give them. Buckets from histograms with the same settings share their
 * bounds exactly, so they add and subtract bound by bound. Pure.
 */
import type { LatencyBuckets } from "../targets/driver.ts";

export function countOf(buckets: LatencyBuckets): number {
  return buckets.reduce((n, b) => n + b.count, 0);
}

/** The p-th percentile of bucketed latencies (nearest rank on the buckets' bounds), or null. */
export function percentileOf(buckets: LatencyBuckets, p: number): number | null {
  const total = countOf(buckets);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const b of buckets) {
    seen += b.count;
    if (seen >= rank) return b.upToMs;
  }
  return buckets[buckets.length - 1]!.upToMs;
}

/** The requests of `all` outside `part` (part's buckets come from the same histogram settings, so bounds match). */
export function withoutBuckets(all: LatencyBuckets, part: LatencyBuckets): LatencyBuckets {
  const taken = new Map(part.map((b) => [b.upToMs, b.count]));
  return all
    .map((b) => ({ upToMs: b.upToMs, count: Math.max(0, b.count - (taken.get(b.upToMs) ?? 0)) }))
    .filter((b) => b.count > 0);
}

/** Several distributions as one (same histogram settings). */
export function mergeBuckets(parts: readonly LatencyBuckets[]): LatencyBuckets {
  if (parts.length === 1) return parts[0]!;
  const counts = new Map<number, number>();
  for (const part of parts) for (const b of part) counts.set(b.upToMs, (counts.get(b.upToMs) ?? 0) + b.count);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([upToMs, count]) => ({ upToMs, count }));
}
