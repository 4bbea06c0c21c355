/**
 * A slot's figures for the judge from Prometheus's answers: counts rounded to whole requests (increase()
 * extrapolates to the window's edges, so it answers 12.4 where 12 requests were scraped), and the
 * histogram's cumulative `le` buckets turned into the judge's latency buckets (de-cumulated, seconds to
 * milliseconds). Pure.
 */
import type { LatencyBuckets, SlotMetrics } from "../driver.ts";

/** One series of an instant vector: its labels and value. */
export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

/**
 * The bound of the open-ended `+Inf` bucket ("slower than the largest bound"). Not Infinity: the
 * live slot's buckets are kept as the validation window's baseline in a JSON column, where Infinity
 * would turn into null. It ranks above every real bound, which is all the rank test needs.
 */
export const OPEN_BUCKET_MS = Number.MAX_VALUE;

const total = (samples: VectorSample[]) => samples.reduce((sum, s) => sum + s.value, 0);

/** Cumulative `le` buckets (any order, `+Inf` included) as ascending per-bucket counts; empty buckets left out. */
export function latencyBuckets(cumulative: VectorSample[]): LatencyBuckets {
  const bounds = cumulative
    .map((s) => ({
      le: s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le),
      count: Math.max(0, Math.round(s.value)),
    }))
    .filter((b) => !Number.isNaN(b.le))
    .sort((a, b) => a.le - b.le);
  const buckets: { upToMs: number; count: number }[] = [];
  let below = 0;
  for (const bound of bounds) {
    // Cumulative counts only grow; extrapolation can leave a bound a hair under the one below it.
    const count = Math.max(0, bound.count - below);
    below = Math.max(below, bound.count);
    if (count > 0)
      buckets.push({ upToMs: bound.le === Number.POSITIVE_INFINITY ? OPEN_BUCKET_MS : bound.le * 1000, count });
  }
  return buckets;
}

/**
 * A quantile as Prometheus's histogram_quantile() computes it, so the figures match what people see in
 * Grafana: linear within the bucket it falls in; in the open-ended bucket, the largest real bound.
 */
export function quantileOf(buckets: LatencyBuckets, q: number): number | null {
  const count = buckets.reduce((n, b) => n + b.count, 0);
  if (count === 0) return null;
  const rank = q * count;
  let below = 0;
  let lower = 0;
  for (const b of buckets) {
    if (below + b.count >= rank) {
      if (b.upToMs === OPEN_BUCKET_MS) return lower;
      return round(lower + (b.upToMs - lower) * ((rank - below) / b.count));
    }
    below += b.count;
    lower = b.upToMs;
  }
  return lower;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export function slotFigures(answers: {
  requests: VectorSample[];
  errors: VectorSample[];
  latency: VectorSample[];
}): SlotMetrics {
  const requests = Math.max(0, Math.round(total(answers.requests)));
  const errors = Math.min(requests, Math.max(0, Math.round(total(answers.errors))));
  const latency = latencyBuckets(answers.latency);
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    p50: quantileOf(latency, 0.5),
    p95: quantileOf(latency, 0.95),
    p99: quantileOf(latency, 0.99),
    latency,
  };
}
