/**
 * Gate evaluation: green's metrics during a step (or the validation window) against the policy's
 * thresholds and the live slot. Pure. A gate is `waiting` until green has served the minimum number
 * of requests — it never passes on no data — and `fail` only on enough data.
 */
import type { SlotMetrics } from "../targets/driver.ts";
import type { Gates } from "./policy.ts";

export type GateName = "min_requests" | "error_rate_absolute" | "error_rate_vs_live" | "latency_p95";
export type GateOutcome = "pass" | "fail" | "waiting";

export interface GateResult {
  gate: GateName;
  outcome: GateOutcome;
  observed: number | null;
  threshold: number;
  detail: string;
}

export interface Baseline {
  /** The live slot's error rate in percent, and its p95 in ms, before traffic moved. */
  errorRatePercent: number | null;
  p95Ms: number | null;
}

export interface GateInput {
  green: SlotMetrics;
  live: SlotMetrics;
  baseline: Baseline | null;
  /** False while the target's metrics for the window are still arriving. */
  complete: boolean;
}

const pct = (rate: number | null) => (rate === null ? null : rate * 100);
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function evaluateGates(gates: Gates, input: GateInput): GateResult[] {
  const { green, live } = input;
  const enough = input.complete && green.requests >= gates.minRequests;
  const waitingDetail = !input.complete
    ? "waiting for metrics: the target's data for this period is not all in yet"
    : `waiting for traffic: green has served ${green.requests} of the ${gates.minRequests} requests needed`;

  const greenRate = pct(green.errorRate) ?? 0;
  // The live slot's rate in this window when it has served enough to say; else its baseline.
  const liveRate = live.requests >= gates.minRequests ? (pct(live.errorRate) ?? 0) : (input.baseline?.errorRatePercent ?? 0);
  const increase = greenRate - liveRate;

  const judge = (gate: GateName, observed: number | null, threshold: number, describe: string): GateResult => {
    if (!enough) return { gate, outcome: "waiting", observed, threshold, detail: waitingDetail };
    if (observed === null) return { gate, outcome: "waiting", observed, threshold, detail: "waiting for metrics: no value yet" };
    const ok = observed <= threshold;
    return { gate, outcome: ok ? "pass" : "fail", observed: round(observed), threshold, detail: `${describe}: ${round(observed)} ${ok ? "≤" : ">"} ${threshold}` };
  };

  return [
    {
      gate: "min_requests",
      outcome: enough ? "pass" : "waiting",
      observed: green.requests,
      threshold: gates.minRequests,
      detail: enough ? `green served ${green.requests} requests (at least ${gates.minRequests})` : waitingDetail,
    },
    judge("error_rate_absolute", greenRate, gates.maxErrorRatePercent, "green error rate %"),
    judge("error_rate_vs_live", increase, gates.maxErrorRateIncreasePp, `green error rate minus live (${round(liveRate)}%) in percentage points`),
    judge("latency_p95", green.p95, gates.maxP95Ms, "green p95 latency ms"),
  ];
}

export function firstFailure(results: GateResult[]): GateResult | undefined {
  return results.find((r) => r.outcome === "fail");
}

export function allPass(results: GateResult[]): boolean {
  return results.every((r) => r.outcome === "pass");
}
