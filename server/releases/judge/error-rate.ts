/**
 * The error-rate tests. Pure.
 *
 * Against the live slot: Wald's sequential probability ratio test (SPRT) of "the new release fails as
 * often as live" (H0: p = p_live) against "it fails more often by the margin" (H1: p = p_live + margin),
 * on the new slot's requests of the window. The log likelihood ratio is a sum over requests: it is
 * recomputed from the window's counts at every look, and Wald's bounds keep the chance of failing a
 * release that is as good as live at 1 − confidence however often the reconciler looks, provided
 * p_live is right. It is not known, only sampled from live's requests in the same window; the test
 * takes the highest rate those counts allow at 95 % (Clopper-Pearson), so an unlucky live sample does
 * not make a release as good as live look worse. (With live's rate read as (errors + 1) / (requests + 2),
 * the verdicts benchmark rolled back one healthy release of fifty, both at 0.2 %: "6 of 720 against 0 of
 * 761", live's 0 of 761 read as 0.13 %.) Detection of a release that really is worse by the margin
 * takes more of its requests, about 1.6 times as many for +2 pp at 200 requests a second. See
 * ARCHITECTURE.md for why we chose the SPRT over a Bayesian posterior.
 *
 * The ceiling: an exact one-sided binomial test of "the new release fails more than the ceiling"
 * (server/stats/ceiling.ts, shared with the local data plane's traffic guard).
 */

import { binomialUpperTail } from "../../stats/distributions.ts";

export interface Counts {
  requests: number;
  errors: number;
}

export type Direction = "worse" | "not_worse" | "undecided";

export interface ErrorRateTest {
  direction: Direction;
  /** How sure the test is of the direction it reports (of "worse" while undecided), 0..1. */
  confidence: number;
  /** The log likelihood ratio of H1 against H0. */
  llr: number;
  /** The live rate the test assumed (0..1). */
  liveRate: number;
}

/** Live's error rate with one success and one failure added: (errors + 1) / (requests + 2). */
function smoothedRate(counts: Counts): number {
  return (counts.errors + 1) / (counts.requests + 2);
}

/** How sure the test is that live fails no more often than the rate it assumes for live. */
export const LIVE_RATE_LEVEL = 0.95;

/**
 * The highest error rate live's counts allow at `level` (the one-sided Clopper-Pearson bound: the rate
 * at which seeing this few errors or fewer has probability 1 − level); half while live has served nothing.
 */
export function liveRateBound(counts: Counts, level = LIVE_RATE_LEVEL): number {
  const { errors, requests } = counts;
  if (requests <= 0) return smoothedRate(counts);
  if (errors >= requests) return 1 - 1e-9;
  let low = errors / requests;
  let high = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    // P(at most `errors` errors | mid) = 1 − P(at least errors + 1); it falls as mid rises.
    if (1 - binomialUpperTail(errors + 1, requests, mid) > 1 - level) low = mid;
    else high = mid;
  }
  return Math.min(1 - 1e-9, high);
}

export function errorRateAgainstLive(green: Counts, live: Counts, marginPp: number, confidence: number): ErrorRateTest {
  const p0 = liveRateBound(live);
  const p1 = Math.min(1 - 1e-9, p0 + marginPp / 100);
  const llr = green.errors * Math.log(p1 / p0) + (green.requests - green.errors) * Math.log((1 - p1) / (1 - p0));
  const bound = Math.log(confidence / (1 - confidence));
  // With equal prior odds, the probability of H1 given the data.
  const worse = 1 / (1 + Math.exp(-llr));
  if (llr >= bound) return { direction: "worse", confidence: worse, llr, liveRate: p0 };
  if (llr <= -bound) return { direction: "not_worse", confidence: 1 - worse, llr, liveRate: p0 };
  return { direction: "undecided", confidence: worse, llr, liveRate: p0 };
}

export { shareAgainstCeiling, type CeilingTest } from "../../stats/ceiling.ts";
