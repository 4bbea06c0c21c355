/**
 * The latency tests. Pure.
 *
 * Against the live slot: a one-sided Mann-Whitney U (rank) test, as Netflix's Kayenta judge uses, on
 * the two slots' latency distributions (histogram buckets: a bucket is a tie). The allowed margin is
 * taken out of the new slot's latencies first (a latency v counts as (v − ms) / (1 + percent/100)),
 * so the test asks "is the new release slower than live by more than the margin?". Normal
 * approximation with the tie correction and a continuity correction.
 *
 * The p95 ceiling: the share of the new slot's requests slower than the ceiling, tested exactly
 * against 5 % (shareAgainstCeiling): "p95 above the ceiling" means "more than 5 % slower than it".
 *
 * Both tests take requests as independent, and a stall (the process or the machine paused half a
 * second) makes every request in flight slow at once: one event, not a share. Where the source keeps
 * per-second latencies it names the slot's slowest moment (SlowestMoment: at most two adjacent seconds,
 * a stall of up to a second wherever it falls), and the judge fails a latency gate only when the
 * requests outside that moment fail it too (withoutBuckets). CI rolled back good releases on "3 of 3
 * requests over 500 ms" (one ~540 ms pause of a loaded 2-core machine) and on "answers in 191 ms at
 * p95 against 206 ms" (15 requests at 100 %, most of them caught by one slow second, ranked against
 * live's figures from the step before).
 *
 * Where a source has no per-request latencies (CloudWatch gives a p95 per period), the comparison is
 * of the p95s themselves, and the result says so.
 */
import type { LatencyBuckets } from "../../targets/driver.ts";
import { normalCdf } from "../../stats/distributions.ts";
import { countOf } from "../../stats/latency-buckets.ts";

export { countOf, percentileOf, withoutBuckets } from "../../stats/latency-buckets.ts";

export interface Margin {
  percent: number;
  ms: number;
}

export interface RankTest {
  direction: "slower" | "not_slower" | "undecided";
  /** How sure the test is of the direction it reports (of "slower" while undecided), 0..1. */
  confidence: number;
  /** Standardised U of the new slot (positive: slower than live after the margin). */
  z: number;
}

/** The latency a request of the new slot counts as once the margin is allowed for. */
export const withinMargin = (ms: number, margin: Margin) => (ms - margin.ms) / (1 + margin.percent / 100);

/** Mann-Whitney U of `green` (after the margin) against `live`. */
export function slowerThanLive(
  green: LatencyBuckets,
  live: LatencyBuckets,
  margin: Margin,
  confidence: number,
): RankTest {
  const n1 = countOf(green);
  const n2 = countOf(live);
  if (n1 === 0 || n2 === 0) return { direction: "undecided", confidence: 0, z: 0 };
  const points = [
    ...green.map((b) => ({ value: withinMargin(b.upToMs, margin), count: b.count, green: true })),
    ...live.map((b) => ({ value: b.upToMs, count: b.count, green: false })),
  ].sort((a, b) => a.value - b.value);
  const n = n1 + n2;
  let rankSumGreen = 0;
  let tieTerm = 0;
  let below = 0;
  for (let i = 0; i < points.length;) {
    let j = i;
    let tied = 0;
    let tiedGreen = 0;
    while (j < points.length && points[j]!.value === points[i]!.value) {
      tied += points[j]!.count;
      if (points[j]!.green) tiedGreen += points[j]!.count;
      j++;
    }
    // Every request of the tie gets the tie's middle rank.
    const midRank = below + (tied + 1) / 2;
    rankSumGreen += tiedGreen * midRank;
    tieTerm += tied ** 3 - tied;
    below += tied;
    i = j;
  }
  const u = rankSumGreen - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { direction: "undecided", confidence: 0, z: 0 };
  const sd = Math.sqrt(variance);
  const zGreater = (u - mean - 0.5) / sd;
  const zLess = (u - mean + 0.5) / sd;
  const pSlower = 1 - normalCdf(zGreater);
  const pFaster = normalCdf(zLess);
  const alpha = 1 - confidence;
  if (pSlower < alpha) return { direction: "slower", confidence: 1 - pSlower, z: zGreater };
  if (pFaster < alpha) return { direction: "not_slower", confidence: 1 - pFaster, z: zLess };
  return { direction: "undecided", confidence: 1 - pSlower, z: zGreater };
}

/** How many requests took longer than `ms` (bucket by bucket: a bucket counts when its bound is above). */
export function slowerThan(buckets: LatencyBuckets, ms: number): number {
  return buckets.reduce((n, b) => (b.upToMs > ms ? n + b.count : n), 0);
}
