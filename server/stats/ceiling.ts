/**
 * A share against a ceiling, by an exact one-sided binomial test: the judge's two ceilings (failed
 * requests, requests slower than the p95 ceiling) and the local data plane's traffic guard use it.
 * Pure.
 */
import { binomialUpperTail } from "./distributions.ts";

export interface CeilingTest {
  direction: "above" | "below" | "undecided";
  /** How sure the test is of the direction it reports (of "above" while undecided), 0..1. */
  confidence: number;
}

/**
 * Exact binomial test of `count` out of `requests` against a share `ceiling` (0..1): "above" when
 * P(X ≥ count | ceiling) < 1 − confidence, "below" when P(X ≤ count | ceiling) < 1 − confidence.
 */
export function shareAgainstCeiling(count: number, requests: number, ceiling: number, confidence: number): CeilingTest {
  if (requests === 0) return { direction: "undecided", confidence: 0 };
  const alpha = 1 - confidence;
  const pAtLeast = binomialUpperTail(count, requests, ceiling);
  if (pAtLeast < alpha) return { direction: "above", confidence: 1 - pAtLeast };
  const pAtMost = 1 - binomialUpperTail(count + 1, requests, ceiling);
  if (pAtMost < alpha) return { direction: "below", confidence: 1 - pAtMost };
  return { direction: "undecided", confidence: 1 - pAtLeast };
}
