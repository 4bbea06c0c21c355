/**
 * The judge: one verdict per gate on the new release's slot, against the live slot in the same window
 * and against the policy's hard ceilings. Pure; every target feeds it (the local data plane with
 * per-request histograms, ECS with CloudWatch periods, Prometheus with histogram buckets), and each
 * verdict says which test it used, the values and sample sizes on both sides, the margin, the
 * confidence reached, and one sentence a release manager understands.
 *
 *   error_rate            sequential test against live (SPRT, error-rate.ts)
 *   error_rate_ceiling    exact binomial test against the ceiling
 *   latency               Mann-Whitney U against live, with the margin taken out (latency.ts)
 *   latency_p95_ceiling   more than 5 % of requests slower than the ceiling, exact binomial test; held,
 *                         not failed, while live is over it too in the same window and no better (Fisher),
 *                         or while the requests outside the worst moment are not (one stall is one event)
 *   min_requests          the requests a step needs before it may pass (failing needs none)
 *   target_signals        what the target itself reports (alarms, unhealthy hosts, load-balancer errors)
 *   metrics_source        whether a source that can fail to answer (Prometheus) did: while it does not, every
 *                         gate waits with its error; once it has not answered for its limit, this gate fails
 *
 * Both latency gates leave out the seconds the machine held the new slot back (HeldBack: its process
 * waited for a CPU, the host took a CPU away, or the proxy timing it fell behind, by 50 ms or more),
 * where the source measures that (the local data plane), and pass only once the other seconds hold
 * enough requests.
 *
 * A gate fails only at the stated confidence, whatever minRequests says (a release failing half its
 * requests fails within its first few). It passes when the opposite holds at that confidence, or when
 * the bake is over with enough data and what was seen is within the line (the margin, the ceiling);
 * a bake that ends with what was seen over the line holds the step until the test decides.
 */
import { z } from "zod";
import type {
  HeldBack,
  LatencyBuckets,
  Slot,
  SlotMetrics,
  SourceStatus,
  TargetSignal,
  TrafficCutOff,
} from "../../targets/driver.ts";
import { errorRateAgainstLive, shareAgainstCeiling, type Counts } from "./error-rate.ts";
import { fisherGreaterPValue } from "../../stats/distributions.ts";
import { countOf, percentileOf, slowerThan, slowerThanLive, withoutBuckets } from "./latency.ts";

export const GATE_NAMES = [
  "target_signals",
  "metrics_source",
  "min_requests",
  "error_rate",
  "error_rate_ceiling",
  "latency",
  "latency_p95_ceiling",
] as const;
export const gateName = z.enum(GATE_NAMES);
export type GateName = z.infer<typeof gateName>;
export type GateOutcome = "pass" | "fail" | "waiting";

/** Fewer requests than this on either side say too little for a rank test. */
export const MIN_RANK_SAMPLES = 10;
/** "p95 above the ceiling" is "more than this share of requests slower than it". */
const P95_SHARE = 0.05;

export interface JudgeGates {
  confidencePercent: number;
  minRequests: number;
  errorRate: { marginPp: number; maxPercent: number };
  latency: { marginPercent: number; marginMs: number; maxP95Ms: number };
}

/** The live slot's figures in the last window before all traffic moved (live has none at 100 %). */
export interface Baseline {
  requests: number;
  errors: number;
  p95: number | null;
  latency?: LatencyBuckets;
}

export interface JudgeInput {
  green: SlotMetrics;
  live: SlotMetrics;
  baseline: Baseline | null;
  /** False while the target's metrics for the window are still arriving. */
  complete: boolean;
  signals?: TargetSignal[];
  /** The bake (or validation window) is over, or a person promoted the step: undecided gates with enough data pass. */
  bakeOver: boolean;
  /** Which physical slot is which, for sentences: "green (new)", "blue (live)". */
  slots: { new: Slot; live: Slot };
  /**
   * False for an environment's first release: no release is live, so there is nothing to compare
   * with (the live slot only answers "no process here") and the ceilings judge the release alone.
   */
  liveRelease?: boolean;
  /** The environment judged (a gate rule may depend on it; the judge does not). */
  environmentId?: string;
  /** Where the figures came from, in words; every verdict names it. */
  source?: string;
  /** Whether a source that can fail to answer did (absent: the target's own figures, which always answer). */
  sourceStatus?: SourceStatus;
}

/** A rule that judges a step: the judge, or (in the verdicts benchmark) the old threshold rule. */
export type GateRule = (gates: JudgeGates, input: JudgeInput) => GateVerdict[];

export interface SideFigures {
  value: number | null;
  requests: number;
}

export interface Explanation {
  /** The test used, in words. */
  test: string;
  new: SideFigures;
  live: SideFigures | null;
  /** The allowed margin or the ceiling, in words. */
  margin: string;
  /** The confidence reached (0..1) in the direction of the outcome, or null where no test gives one. */
  confidence: number | null;
  /** Where the figures came from ("Prometheus at http://prometheus:9090"), where the window said. */
  source?: string;
}

export interface GateVerdict {
  gate: GateName;
  outcome: GateOutcome;
  /** The new slot's value (error rate %, p95 ms, requests). */
  observed: number | null;
  /** The margin or the ceiling it was held to. */
  threshold: number;
  /** One sentence a release manager understands. */
  detail: string;
  explanation: Explanation;
}

// ─── Formatting (rounded where formatted) ─────────────────────────────────────────────────────────

const plural = (n: number, word: string) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

export function formatPercent(value: number): string {
  const abs = Math.abs(value);
  const digits = abs === 0 ? 0 : abs < 0.1 ? 3 : abs < 1 ? 2 : abs < 10 ? 1 : 0;
  return `${Number(value.toFixed(digits))} %`;
}

export function formatMs(value: number): string {
  return `${value < 10 ? Number(value.toFixed(1)) : Math.round(value).toLocaleString("en-US")} ms`;
}

/** "99.9 %", never rounding up to a certainty the test did not reach. */
export function formatConfidence(confidence: number): string {
  const percent = confidence * 100;
  if (percent >= 99.99) return "over 99.99 %";
  const digits = percent >= 99.9 ? 2 : 1;
  return `${(Math.floor(percent * 10 ** digits) / 10 ** digits).toFixed(digits)} %`;
}

const rate = (c: Counts) => (c.requests ? (c.errors / c.requests) * 100 : 0);

// ─── The judge ────────────────────────────────────────────────────────────────────────────────────

export function judge(gates: JudgeGates, input: JudgeInput): GateVerdict[] {
  const verdicts = judgeFigures(gates, input);
  const source = input.source;
  return source ? verdicts.map((v) => ({ ...v, explanation: { ...v.explanation, source } })) : verdicts;
}

function judgeFigures(gates: JudgeGates, input: JudgeInput): GateVerdict[] {
  const confidence = gates.confidencePercent / 100;
  const { green } = input;
  const newName = `${input.slots.new} (new)`;
  const liveName = `${input.slots.live} (live)`;
  const enough = green.requests >= gates.minRequests;
  const decideAtEnd = input.bakeOver && enough;
  const verdicts: GateVerdict[] = [];

  const signals = input.signals ?? [];
  if (signals.length) {
    verdicts.push({
      gate: "target_signals",
      outcome: "fail",
      observed: signals.length,
      threshold: 0,
      detail: signals.map((s) => s.detail).join("; "),
      explanation: {
        test: "the target's own report",
        new: { value: signals.length, requests: green.requests },
        live: null,
        margin: "none allowed",
        confidence: null,
      },
    });
  }

  const status = input.sourceStatus;
  if (status) verdicts.push(sourceVerdict(status, input.source ?? "the metric source"));

  if (!input.complete || (status && !status.answered)) {
    const detail =
      status && !status.answered
        ? `waiting for metrics: ${status.error}`
        : "waiting for metrics: the target's data for this period is not all in yet";
    for (const gate of [
      "min_requests",
      "error_rate",
      "error_rate_ceiling",
      "latency",
      "latency_p95_ceiling",
    ] as const) {
      verdicts.push({
        gate,
        outcome: "waiting",
        observed: null,
        threshold: 0,
        detail,
        explanation: {
          test: "none yet",
          new: { value: null, requests: green.requests },
          live: null,
          margin: "",
          confidence: null,
        },
      });
    }
    return verdicts;
  }

  verdicts.push({
    gate: "min_requests",
    outcome: enough ? "pass" : "waiting",
    observed: green.requests,
    threshold: gates.minRequests,
    detail: enough
      ? `${newName} has served ${plural(green.requests, "request")} (at least ${gates.minRequests} needed to pass)`
      : `waiting for traffic: ${newName} has served ${green.requests} of the ${gates.minRequests} requests needed to pass`,
    explanation: {
      test: "count",
      new: { value: green.requests, requests: green.requests },
      live: null,
      margin: `at least ${gates.minRequests}`,
      confidence: null,
    },
  });

  verdicts.push(errorRateVerdict(gates, input, confidence, newName, liveName, decideAtEnd));
  verdicts.push(errorCeilingVerdict(gates, input, confidence, newName, decideAtEnd));
  // The latency gates judge the seconds the machine did not hold back (see HeldBack), and decide at the
  // end of the bake only once those seconds hold the requests a step needs.
  const judged = { ...input, green: withoutHeldBack(input.green), live: withoutHeldBack(input.live) };
  const held = input.green.heldBack;
  const judgedRequests = held && judged.green.latency ? countOf(judged.green.latency) : green.requests;
  const tooFew = Boolean(held) && judgedRequests < gates.minRequests;
  const latencyVerdicts = [
    latencyVerdict(gates, judged, confidence, newName, liveName, decideAtEnd && !tooFew),
    latencyCeilingVerdict(gates, judged, confidence, newName, liveName, decideAtEnd && !tooFew),
  ];
  verdicts.push(
    ...(held
      ? latencyVerdicts.map((v) =>
          heldBackSaid(v, held, newName, tooFew ? { requests: judgedRequests, needed: gates.minRequests } : null),
        )
      : latencyVerdicts),
  );
  return verdicts;
}

/**
 * A slot's figures without the seconds the machine held it back: a saturated machine makes every slot
 * slow at once (CI rolled back eleven good first releases of twenty, each at a p95 near a second, while
 * forty processes started together on two cores), and that is no sign of a slow release.
 */
function withoutHeldBack(slot: SlotMetrics): SlotMetrics {
  if (!slot.heldBack || !slot.latency) return slot;
  const latency = withoutBuckets(slot.latency, slot.heldBack.latency);
  return {
    ...slot,
    latency,
    p50: percentileOf(latency, 50),
    p95: percentileOf(latency, 95),
    p99: percentileOf(latency, 99),
  };
}

/**
 * A latency verdict that says which seconds it set aside; while too few requests are left outside them
 * to pass, an undecided gate says it waits for those.
 */
function heldBackSaid(
  verdict: GateVerdict,
  held: HeldBack,
  newName: string,
  tooFew: { requests: number; needed: number } | null,
): GateVerdict {
  const words = `${plural(held.seconds, "second")} in which the machine held up ${newName} or the proxy timing it (up to ${formatMs(held.longestWaitMs)} in one) set aside`;
  const detail =
    tooFew && verdict.outcome !== "fail"
      ? `${newName}: waiting for requests from seconds in which the machine did not hold it up (${tooFew.requests} of the ${tooFew.needed} needed)`
      : verdict.detail;
  return {
    ...verdict,
    outcome: tooFew && verdict.outcome === "pass" ? "waiting" : verdict.outcome,
    detail: `${detail}; ${words}`,
    explanation: {
      ...verdict.explanation,
      test: `${verdict.explanation.test}, without the seconds in which the slot waited for a CPU, the host took a CPU away, or the proxy timing it fell behind, by 50 ms or more (and the requests in flight through them)`,
    },
  };
}

/** Whether the metric source answered: a pass, a wait with its error, or past the limit a failure. */
function sourceVerdict(status: SourceStatus, source: string): GateVerdict {
  const explanation: Explanation = {
    test: "whether the metric source answered",
    new: { value: null, requests: 0 },
    live: null,
    margin: status.answered ? "an answer" : `an answer within ${status.limitSeconds} s`,
    confidence: null,
  };
  if (status.answered)
    return {
      gate: "metrics_source",
      outcome: "pass",
      observed: 0,
      threshold: 0,
      detail: `${source} answered`,
      explanation,
    };
  const seconds = Math.floor(status.forSeconds);
  const base = { gate: "metrics_source" as const, observed: seconds, threshold: status.limitSeconds, explanation };
  if (status.forSeconds >= status.limitSeconds) {
    return {
      ...base,
      outcome: "fail",
      detail: `${source} has not answered for ${plural(seconds, "second")} (the limit is ${status.limitSeconds} s), and the gates cannot pass without metrics: ${status.error}`,
    };
  }
  return {
    ...base,
    outcome: "waiting",
    detail: `${source} has not answered for ${plural(seconds, "second")}; the gates wait, and fail at ${status.limitSeconds} s: ${status.error}`,
  };
}

/** Live's side of a comparison: this window's live slot, or the baseline when live has served too little (at 100 %). */
function liveSide(
  gates: JudgeGates,
  input: JudgeInput,
): { counts: Counts; latency: LatencyBuckets | undefined; p95: number | null; from: string } {
  const { live, baseline } = input;
  if (live.requests < gates.minRequests && baseline && baseline.requests > live.requests) {
    return { counts: baseline, latency: baseline.latency, p95: baseline.p95, from: "before traffic moved" };
  }
  return { counts: live, latency: live.latency, p95: live.p95, from: "in the same window" };
}

/** A comparison with live where nothing is live: it passes once the step may pass, and says why. */
function nothingLive(
  gate: "error_rate" | "latency",
  input: JudgeInput,
  threshold: number,
  newName: string,
  decideAtEnd: boolean,
): GateVerdict {
  const observed =
    gate === "error_rate" ? round(rate(input.green)) : input.green.p95 === null ? null : round(input.green.p95);
  return {
    gate,
    outcome: decideAtEnd ? "pass" : "waiting",
    observed,
    threshold,
    detail: `nothing is live in this environment yet, so ${newName} is compared with no other slot: the ceilings judge it alone`,
    explanation: {
      test: "none (no live release to compare with)",
      new: { value: observed, requests: input.green.requests },
      live: null,
      margin: "",
      confidence: null,
      source: input.source,
    },
  };
}

function errorRateVerdict(
  gates: JudgeGates,
  input: JudgeInput,
  confidence: number,
  newName: string,
  liveName: string,
  decideAtEnd: boolean,
): GateVerdict {
  const { green } = input;
  if (input.liveRelease === false)
    return nothingLive("error_rate", input, gates.errorRate.marginPp, newName, decideAtEnd);
  const live = liveSide(gates, input);
  const margin = gates.errorRate.marginPp;
  const test = errorRateAgainstLive(green, live.counts, margin, confidence);
  const greenRate = rate(green);
  const liveRate = rate(live.counts);
  const figures = `${newName} fails ${formatPercent(greenRate)} of requests (${green.errors} of ${green.requests}) against ${formatPercent(liveRate)} on ${liveName} (${live.counts.errors} of ${live.counts.requests}, ${live.from})`;
  const base = {
    gate: "error_rate" as const,
    observed: round(greenRate - liveRate),
    threshold: margin,
    explanation: {
      test: "sequential probability ratio test against the live slot",
      new: { value: round(greenRate), requests: green.requests },
      live: { value: round(liveRate), requests: live.counts.requests },
      margin: `${margin} percentage points`,
      confidence: test.confidence,
    },
  };
  if (test.direction === "worse")
    return {
      ...base,
      outcome: "fail",
      detail: `${figures}; ${formatConfidence(test.confidence)} sure it is worse by ${margin} pp or more`,
    };
  if (test.direction === "not_worse")
    return {
      ...base,
      outcome: "pass",
      detail: `${figures}; ${formatConfidence(test.confidence)} sure it is not worse by ${margin} pp`,
    };
  // The bake is over but what was seen is over the line: hold the step until the test decides either way.
  if (decideAtEnd && greenRate - liveRate > margin)
    return { ...base, outcome: "waiting", detail: `${figures}; ${HOLD}` };
  if (decideAtEnd)
    return {
      ...base,
      outcome: "pass",
      detail: `${figures}; no sign that it is worse by ${margin} pp or more by the end of the bake`,
    };
  return { ...base, outcome: "waiting", detail: `${figures}; not yet sure either way` };
}

function errorCeilingVerdict(
  gates: JudgeGates,
  input: JudgeInput,
  confidence: number,
  newName: string,
  decideAtEnd: boolean,
): GateVerdict {
  const { green } = input;
  const ceiling = gates.errorRate.maxPercent;
  const greenRate = rate(green);
  const test = shareAgainstCeiling(green.errors, green.requests, ceiling / 100, confidence);
  const figures = `${newName} fails ${formatPercent(greenRate)} of requests (${green.errors} of ${green.requests})`;
  const base = {
    gate: "error_rate_ceiling" as const,
    observed: round(greenRate),
    threshold: ceiling,
    explanation: {
      test: "exact binomial test against the ceiling",
      new: { value: round(greenRate), requests: green.requests },
      live: null,
      margin: `at most ${ceiling} %`,
      confidence: test.confidence,
    },
  };
  if (test.direction === "above")
    return {
      ...base,
      outcome: "fail",
      detail: `${figures}; ${formatConfidence(test.confidence)} sure that is above the ${ceiling} % ceiling`,
    };
  if (test.direction === "below")
    return {
      ...base,
      outcome: "pass",
      detail: `${figures}; ${formatConfidence(test.confidence)} sure that is below the ${ceiling} % ceiling`,
    };
  // Undecided at the end: the data do not show it above the ceiling (a raw rate a hair over it, on a
  // few hundred requests, is noise, not a breach).
  if (decideAtEnd && greenRate > ceiling) return { ...base, outcome: "waiting", detail: `${figures}; ${HOLD}` };
  if (decideAtEnd)
    return {
      ...base,
      outcome: "pass",
      detail: `${figures}; no sign that it is above the ${ceiling} % ceiling by the end of the bake`,
    };
  return {
    ...base,
    outcome: "waiting",
    detail: `${figures}; not yet sure how it stands against the ${ceiling} % ceiling`,
  };
}

/** Whether the new slot's p95 is over live's by more than the margin (false where either has none). */
function p95SlowerBeyond(
  newP95: number | null,
  liveP95: number | null,
  margin: { percent: number; ms: number },
): boolean {
  return newP95 !== null && liveP95 !== null && newP95 > liveP95 * (1 + margin.percent / 100) + margin.ms;
}

function latencyVerdict(
  gates: JudgeGates,
  input: JudgeInput,
  confidence: number,
  newName: string,
  liveName: string,
  decideAtEnd: boolean,
): GateVerdict {
  const { green } = input;
  if (input.liveRelease === false)
    return nothingLive("latency", input, gates.latency.marginPercent, newName, decideAtEnd);
  const live = liveSide(gates, input);
  const margin = { percent: gates.latency.marginPercent, ms: gates.latency.marginMs };
  const marginWords = `${margin.percent} % + ${margin.ms} ms`;
  const greenP95 = green.p95 ?? (green.latency ? percentileOf(green.latency, 95) : null);
  const liveP95 = live.p95 ?? (live.latency ? percentileOf(live.latency, 95) : null);
  const base = {
    gate: "latency" as const,
    observed: greenP95 === null ? null : round(greenP95),
    threshold: margin.percent,
  };
  const figures = `${newName} answers in ${greenP95 === null ? "(no data)" : formatMs(greenP95)} at p95 against ${liveP95 === null ? "(no data)" : formatMs(liveP95)} on ${liveName}`;

  if (green.latency && live.latency) {
    const nNew = countOf(green.latency);
    const nLive = countOf(live.latency);
    const explanation = (c: number | null): Explanation => ({
      test: "Mann-Whitney U rank test against the live slot, margin taken out",
      new: { value: base.observed, requests: nNew },
      live: { value: liveP95 === null ? null : round(liveP95), requests: nLive },
      margin: marginWords,
      confidence: c,
    });
    if (nNew < MIN_RANK_SAMPLES || nLive < MIN_RANK_SAMPLES) {
      const counts = `${newName} ${nNew}, ${liveName} ${nLive}`;
      // Too little traffic to rank is no sign of a slower release: at the end of the bake the step passes on the other gates (the p95 ceiling still holds).
      if (decideAtEnd)
        return {
          ...base,
          outcome: "pass",
          detail: `too few requests for the rank test by the end of the bake (${counts}; it needs ${MIN_RANK_SAMPLES} on each side): no sign that it is slower`,
          explanation: explanation(null),
        };
      return {
        ...base,
        outcome: "waiting",
        detail: `waiting for traffic: the rank test needs ${MIN_RANK_SAMPLES} requests on each side (${counts})`,
        explanation: explanation(null),
      };
    }
    const test = slowerThanLive(green.latency, live.latency, margin, confidence);
    const over = `(Mann-Whitney over ${nNew.toLocaleString("en-US")} and ${nLive.toLocaleString("en-US")} requests)`;
    // At 100 % live has no traffic, and its figures from before traffic moved are another moment: a
    // busier machine or a busier hour slows every slot alike, and a rank test across moments judges the
    // moment (CI rolled back good releases at 100 % on "408 ms at p95 against 279 ms" while another test
    // loaded the machine). The release was ranked against live in the same window at every step before;
    // at this one a slower figure is reported, and only the p95 ceiling can fail it.
    const slowerThanBefore = test.direction === "slower" || (decideAtEnd && p95SlowerBeyond(greenP95, liveP95, margin));
    if (live.from !== "in the same window" && slowerThanBefore)
      return {
        ...base,
        outcome: decideAtEnd ? "pass" : "waiting",
        detail: `${figures} before traffic moved: slower, but that is another moment (live has no traffic now, and a busier machine or hour slows every slot alike), so at this step only the p95 ceiling can fail it ${over}`,
        explanation: { ...explanation(test.confidence), test: RANK_TEST_ACROSS_MOMENTS },
      };
    if (test.direction === "slower") {
      // Slower through one moment only (a stall), where the source names the slowest: see latency.ts.
      const moment = green.slowestMoment;
      if (!moment)
        return {
          ...base,
          outcome: "fail",
          detail: `${figures}; ${formatConfidence(test.confidence)} sure it is slower by more than ${marginWords} ${over}`,
          explanation: explanation(test.confidence),
        };
      const outside = withoutBuckets(green.latency, moment.latency);
      const nOutside = countOf(outside);
      const outsideTest =
        nOutside >= MIN_RANK_SAMPLES ? slowerThanLive(outside, live.latency, margin, confidence) : null;
      const withMoment = (c: number): Explanation => ({ ...explanation(c), test: RANK_TEST_WITHOUT_MOMENT });
      if (outsideTest?.direction === "slower") {
        const sure = Math.min(test.confidence, outsideTest.confidence);
        return {
          ...base,
          outcome: "fail",
          detail: `${figures}; ${formatConfidence(sure)} sure it is slower by more than ${marginWords}, also outside its slowest moment (${momentWords(moment)}) ${over}`,
          explanation: withMoment(sure),
        };
      }
      const words = `${figures}, slower only through one moment (${momentWords(moment)}): one stall is one event, not a slower release`;
      const outsideP95 = percentileOf(outside, 95);
      if (decideAtEnd && outsideTest && !p95SlowerBeyond(outsideP95, liveP95, margin))
        return {
          ...base,
          outcome: "pass",
          detail: `${words}; outside it, no sign that it is slower by more than ${marginWords} by the end of the bake (${nOutside.toLocaleString("en-US")} requests, p95 ${formatMs(outsideP95!)})`,
          explanation: withMoment(outsideTest.confidence),
        };
      return {
        ...base,
        outcome: "waiting",
        detail: `${words}, so the step waits (it fails once ${newName} is slower outside that moment too) ${over}`,
        explanation: withMoment(outsideTest?.confidence ?? test.confidence),
      };
    }
    if (test.direction === "not_slower")
      return {
        ...base,
        outcome: "pass",
        detail: `${figures}; ${formatConfidence(test.confidence)} sure it is not slower by more than ${marginWords} ${over}`,
        explanation: explanation(test.confidence),
      };
    const slowerSoFar = p95SlowerBeyond(greenP95, liveP95, margin);
    if (decideAtEnd && slowerSoFar)
      return {
        ...base,
        outcome: "waiting",
        detail: `${figures}; ${HOLD} ${over}`,
        explanation: explanation(test.confidence),
      };
    if (decideAtEnd)
      return {
        ...base,
        outcome: "pass",
        detail: `${figures}; no sign that it is slower by more than ${marginWords} by the end of the bake ${over}`,
        explanation: explanation(test.confidence),
      };
    return {
      ...base,
      outcome: "waiting",
      detail: `${figures}; not yet sure either way ${over}`,
      explanation: explanation(test.confidence),
    };
  }

  // No per-request latencies (CloudWatch): the p95s themselves, without a confidence.
  const explanation: Explanation = {
    test: "p95 against p95 (the source has no per-request latencies, so no rank test and no confidence level)",
    new: { value: base.observed, requests: green.requests },
    live: { value: live.p95 === null ? null : round(live.p95), requests: live.counts.requests },
    margin: marginWords,
    confidence: null,
  };
  if (green.p95 === null || live.p95 === null || !decideAtEnd) {
    const slower = p95SlowerBeyond(green.p95, live.p95, margin);
    if (slower && green.requests >= gates.minRequests)
      return { ...base, outcome: "fail", detail: `${figures}: slower by more than ${marginWords}`, explanation };
    return { ...base, outcome: "waiting", detail: `${figures}; waiting for enough data to compare`, explanation };
  }
  const slower = p95SlowerBeyond(green.p95, live.p95, margin);
  return {
    ...base,
    outcome: slower ? "fail" : "pass",
    detail: `${figures}: ${slower ? "slower" : "not slower"} by more than ${marginWords}`,
    explanation,
  };
}

/**
 * When the live slot, in the same window, is near or over the ceiling too and the new slot is no worse than it
 * (Fisher's exact test at the stated confidence), the slowness is the environment's: a stalled machine,
 * a slow dependency. Rolling back would not cure it, and would throw away a good release. The ceiling
 * then holds the step rather than failing it; the rank test against live still fails a release that is
 * slower than live. Only live's own figures from the same window count (never the baseline from before
 * traffic moved, which is another moment), only while a release is live, and only once live has served
 * the requests a step needs.
 */
function sharedSlowness(
  gates: JudgeGates,
  input: JudgeInput,
  slow: number,
  n: number,
  confidence: number,
): { slow: number; requests: number; p95: number | null } | null {
  const live = input.live.latency;
  if (input.liveRelease === false || !live) return null;
  const requests = countOf(live);
  const slowLive = slowerThan(live, gates.latency.maxP95Ms);
  // A few stragglers on live (sticky clients at 100 %) say nothing about the environment; nor does a live
  // slot well within the ceiling. Near it (over half the allowed share) is enough: after a stall, a new
  // process catches up more slowly than a warm one, and live's share falls under 5 % first.
  if (requests < Math.max(1, gates.minRequests) || slowLive / requests <= P95_SHARE / 2) return null;
  if (fisherGreaterPValue(slow, n, slowLive, requests) < 1 - confidence) return null;
  return { slow: slowLive, requests, p95: percentileOf(live, 95) };
}

const RANK_TEST_ACROSS_MOMENTS =
  "Mann-Whitney U rank test against live's figures from before traffic moved, margin taken out: reported, never failed (another moment; the p95 ceiling still holds)";
const RANK_TEST_WITHOUT_MOMENT =
  "Mann-Whitney U rank test against the live slot, margin taken out, with and without the new slot's slowest moment (at most 2 adjacent seconds: one stall is one event)";
const CEILING_TEST_WITHOUT_MOMENT =
  "exact binomial test of the share of requests over the ceiling (at most 5 %), with and without the slowest moment (at most 2 adjacent seconds: one stall is one event)";

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const momentWords = (m: { from: number; to: number }) => `${clock(m.from)}–${clock(m.to + 1000)} UTC`;

function latencyCeilingVerdict(
  gates: JudgeGates,
  input: JudgeInput,
  confidence: number,
  newName: string,
  liveName: string,
  decideAtEnd: boolean,
): GateVerdict {
  const { green } = input;
  const ceiling = gates.latency.maxP95Ms;
  const base = {
    gate: "latency_p95_ceiling" as const,
    observed: green.p95 === null ? null : round(green.p95),
    threshold: ceiling,
  };
  if (green.latency) {
    const n = countOf(green.latency);
    const slow = slowerThan(green.latency, ceiling);
    const test = shareAgainstCeiling(slow, n, P95_SHARE, confidence);
    const p95 = percentileOf(green.latency, 95);
    const figures = `${newName}: ${slow} of ${plural(n, "request")} took longer than the ${formatMs(ceiling)} ceiling (p95 ${p95 === null ? "no data" : formatMs(p95)})`;
    const explanation: Explanation = {
      test: "exact binomial test of the share of requests over the ceiling (at most 5 %)",
      new: { value: base.observed, requests: n },
      live: null,
      margin: `p95 at most ${formatMs(ceiling)}`,
      confidence: test.confidence,
    };
    // The slow requests of one moment (a stall), where the source names the slowest: see latency.ts.
    const moment = green.slowestMoment && slow / n > P95_SHARE ? green.slowestMoment : null;
    const outsideLatency = moment ? withoutBuckets(green.latency, moment.latency) : null;
    const outsideSlow = outsideLatency ? slowerThan(outsideLatency, ceiling) : 0;
    const outsideRequests = outsideLatency ? countOf(outsideLatency) : 0;
    const stall = moment && {
      moment,
      slowIn: slow - outsideSlow,
      outsideSlow,
      outsideRequests,
      outside: shareAgainstCeiling(outsideSlow, outsideRequests, P95_SHARE, confidence),
    };
    const stallVerdict = (s: NonNullable<typeof stall>): GateVerdict => {
      const words = `${figures}, ${s.slowIn} of them in one moment (${momentWords(s.moment)}): one stall is one event, not a slow release`;
      const stallExplanation = { ...explanation, test: CEILING_TEST_WITHOUT_MOMENT, confidence: s.outside.confidence };
      // Enough requests outside the moment, and at most 5 % of them slow.
      const within =
        s.outsideRequests >= Math.max(1, gates.minRequests) && s.outsideSlow <= P95_SHARE * s.outsideRequests;
      return decideAtEnd && within
        ? {
            ...base,
            outcome: "pass",
            detail: `${words}; outside it, ${s.outsideSlow} of ${plural(s.outsideRequests, "request")} were, within 5 % by the end of the bake`,
            explanation: stallExplanation,
          }
        : {
            ...base,
            outcome: "waiting",
            detail: `${words}, so the step waits (it fails once the requests at other moments are over the ceiling at ${formatConfidence(confidence)} too)`,
            explanation: stallExplanation,
          };
    };
    if (test.direction === "above") {
      const shared = sharedSlowness(gates, input, slow, n, confidence);
      if (shared) {
        return {
          ...base,
          outcome: "waiting",
          detail: `${figures}, and so did ${shared.slow} of ${plural(shared.requests, "request")} on ${liveName} in the same window: the environment is slow, not only the release, so the step waits (it fails once ${newName} is slower than ${liveName} at ${formatConfidence(confidence)})`,
          explanation: {
            ...explanation,
            test: "exact binomial test of the share of requests over the ceiling (at most 5 %), held while the live slot is over it too (Fisher's exact test finds the new slot no worse)",
            live: { value: shared.p95 === null ? null : round(shared.p95), requests: shared.requests },
          },
        };
      }
      if (!stall)
        return {
          ...base,
          outcome: "fail",
          detail: `${figures}; ${formatConfidence(test.confidence)} sure more than 5 % do`,
          explanation,
        };
      if (stall.outside.direction === "above") {
        const sure = Math.min(test.confidence, stall.outside.confidence);
        return {
          ...base,
          outcome: "fail",
          detail: `${figures}; ${formatConfidence(sure)} sure more than 5 % do, also outside the slowest moment (${momentWords(stall.moment)})`,
          explanation: { ...explanation, test: CEILING_TEST_WITHOUT_MOMENT, confidence: sure },
        };
      }
      return stallVerdict(stall);
    }
    if (test.direction === "below")
      return {
        ...base,
        outcome: "pass",
        detail: `${figures}; ${formatConfidence(test.confidence)} sure at most 5 % do`,
        explanation,
      };
    if (decideAtEnd && slow / n > P95_SHARE)
      return stall ? stallVerdict(stall) : { ...base, outcome: "waiting", detail: `${figures}; ${HOLD}`, explanation };
    if (decideAtEnd)
      return {
        ...base,
        outcome: "pass",
        detail: `${figures}; no sign that more than 5 % do by the end of the bake`,
        explanation,
      };
    return {
      ...base,
      outcome: "waiting",
      detail: `${figures}; not yet sure how it stands against the ceiling`,
      explanation,
    };
  }
  // Per-period p95s (CloudWatch): a whole period above the ceiling fails at once.
  const periods = green.periods ?? [];
  const worst = periods.filter((p) => p.p95 !== null && p.requests > 0).sort((a, b) => b.p95! - a.p95!)[0];
  const explanation: Explanation = {
    test: "p95 of each whole period against the ceiling (the source has no per-request latencies)",
    new: { value: base.observed, requests: green.requests },
    live: null,
    margin: `p95 at most ${formatMs(ceiling)}`,
    confidence: null,
  };
  if (worst && worst.p95! > ceiling) {
    return {
      ...base,
      outcome: "fail",
      detail: `${newName} answered in ${formatMs(worst.p95!)} at p95 in the ${worst.seconds} s period from ${worst.at.toISOString().slice(11, 19)} UTC, above the ${formatMs(ceiling)} ceiling`,
      explanation,
    };
  }
  if (green.p95 !== null && green.p95 > ceiling && decideAtEnd)
    return {
      ...base,
      outcome: "fail",
      detail: `${newName} answered in ${formatMs(green.p95)} at p95, above the ${formatMs(ceiling)} ceiling`,
      explanation,
    };
  if (decideAtEnd)
    return {
      ...base,
      outcome: "pass",
      detail: `${newName} answered in ${green.p95 === null ? "(no data)" : formatMs(green.p95)} at p95, within the ${formatMs(ceiling)} ceiling`,
      explanation,
    };
  return {
    ...base,
    outcome: "waiting",
    detail: `${newName}: waiting for whole periods to compare with the ${formatMs(ceiling)} ceiling`,
    explanation,
  };
}

/**
 * The error-rate ceiling's verdict when the target's traffic guard has already acted on it (the local
 * data plane counts the new slot's failures on every response and moves all traffic back to live once
 * the same exact binomial test is sure): the same sentence as the ceiling's, and what the guard did.
 */
export function cutOffVerdict(cutOff: TrafficCutOff, liveSlot: Slot): GateVerdict {
  const rate = (cutOff.errors / Math.max(1, cutOff.requests)) * 100;
  const time = cutOff.at.toISOString().slice(11, 23);
  return {
    gate: "error_rate_ceiling",
    outcome: "fail",
    observed: round(rate),
    threshold: cutOff.ceilingPercent,
    detail:
      `${cutOff.slot} (new) fails ${formatPercent(rate)} of requests (${cutOff.errors} of ${cutOff.requests}); ` +
      `${formatConfidence(cutOff.confidence)} sure that is above the ${cutOff.ceilingPercent} % ceiling, ` +
      `so the traffic guard moved all traffic back to ${liveSlot} (live) at ${time} UTC`,
    explanation: {
      test: "exact binomial test against the ceiling, run by the traffic guard on every response of the new slot",
      new: { value: round(rate), requests: cutOff.requests },
      live: null,
      margin: `at most ${cutOff.ceilingPercent} %`,
      confidence: cutOff.confidence,
      source: "the local data plane, every response",
    },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** What an undecided gate says when the bake is over but what was seen so far is over its line. */
const HOLD = "so far it is over the line, so the step waits until the test decides";

export function firstFailure(verdicts: GateVerdict[]): GateVerdict | undefined {
  return verdicts.find((v) => v.outcome === "fail");
}

export function allPass(verdicts: GateVerdict[]): boolean {
  return verdicts.every((v) => v.outcome === "pass");
}
