/**
 * The threshold rule the panel judged gates by before the judge (server/releases/judge/), kept only so
 * the verdicts benchmark can judge the same traffic both ways: green's raw numbers over the window
 * against fixed thresholds, once green has served `minRequests`.
 */
import type { GateRule, GateVerdict } from "../server/releases/judge/judge.ts";
import type { SlotMetrics, TargetSignal } from "../server/targets/driver.ts";

export interface Gates {
  maxErrorRateIncreasePp: number;
  maxErrorRatePercent: number;
  maxP95Ms: number;
  minRequests: number;
}

export type GateName = "min_requests" | "error_rate_absolute" | "error_rate_vs_live" | "latency_p95" | "target_signals";
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
  /** Failures the target reports itself (alarms, unhealthy hosts): each fails the step at once. */
  signals?: TargetSignal[];
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
  const liveRate =
    live.requests >= gates.minRequests ? (pct(live.errorRate) ?? 0) : (input.baseline?.errorRatePercent ?? 0);
  const increase = greenRate - liveRate;

  const judge = (gate: GateName, observed: number | null, threshold: number, describe: string): GateResult => {
    if (!enough) return { gate, outcome: "waiting", observed, threshold, detail: waitingDetail };
    if (observed === null)
      return { gate, outcome: "waiting", observed, threshold, detail: "waiting for metrics: no value yet" };
    const ok = observed <= threshold;
    return {
      gate,
      outcome: ok ? "pass" : "fail",
      observed: round(observed),
      threshold,
      detail: `${describe}: ${round(observed)} ${ok ? "≤" : ">"} ${threshold}`,
    };
  };

  const signals = input.signals ?? [];
  const targetSignals: GateResult[] = signals.length
    ? [
        {
          gate: "target_signals",
          outcome: "fail",
          observed: signals.length,
          threshold: 0,
          detail: signals.map((s) => s.detail).join("; "),
        },
      ]
    : [];
  return [
    ...targetSignals,
    {
      gate: "min_requests",
      outcome: enough ? "pass" : "waiting",
      observed: green.requests,
      threshold: gates.minRequests,
      detail: enough ? `green served ${green.requests} requests (at least ${gates.minRequests})` : waitingDetail,
    },
    judge("error_rate_absolute", greenRate, gates.maxErrorRatePercent, "green error rate %"),
    judge(
      "error_rate_vs_live",
      increase,
      gates.maxErrorRateIncreasePp,
      `green error rate minus live (${round(liveRate)}%) in percentage points`,
    ),
    judge("latency_p95", green.p95, gates.maxP95Ms, "green p95 latency ms"),
  ];
}

export function firstFailure(results: GateResult[]): GateResult | undefined {
  return results.find((r) => r.outcome === "fail");
}

export function allPass(results: GateResult[]): boolean {
  return results.every((r) => r.outcome === "pass");
}

const AS_JUDGE_GATE: Record<GateName, GateVerdict["gate"]> = {
  min_requests: "min_requests",
  error_rate_absolute: "error_rate_ceiling",
  error_rate_vs_live: "error_rate",
  latency_p95: "latency_p95_ceiling",
  target_signals: "target_signals",
};

/**
 * The threshold rule as a gate rule the reconciler can run: the policy's margin over live, error-rate
 * ceiling, p95 ceiling and minRequests read as the old fixed thresholds.
 */
export const thresholdRule: GateRule = (gates, input) => {
  const baseline = input.baseline
    ? {
        errorRatePercent: (input.baseline.errors / Math.max(1, input.baseline.requests)) * 100,
        p95Ms: input.baseline.p95,
      }
    : null;
  const results = evaluateGates(
    {
      maxErrorRateIncreasePp: gates.errorRate.marginPp,
      maxErrorRatePercent: gates.errorRate.maxPercent,
      maxP95Ms: gates.latency.maxP95Ms,
      minRequests: gates.minRequests,
    },
    { green: input.green, live: input.live, baseline, complete: input.complete, signals: input.signals },
  );
  return results.map((r) => ({
    gate: AS_JUDGE_GATE[r.gate],
    outcome: r.outcome,
    observed: r.observed,
    threshold: r.threshold,
    detail: r.detail,
    explanation: {
      test: "fixed threshold on the raw value (the rule before the judge)",
      new: { value: r.observed, requests: input.green.requests },
      live: null,
      margin: String(r.threshold),
      confidence: null,
    },
  }));
};
