/**
 * The ECS target's figures from CloudWatch's load-balancer metrics (namespace AWS/ApplicationELB).
 *
 * Per target group (slot), per period: RequestCount; errors = HTTPCode_Target_5XX_Count (the task
 * answered 5xx) + TargetConnectionErrorCount (the load balancer could not reach the task); p50, p95
 * and p99 of TargetResponseTime, per period and over the whole window; UnHealthyHostCount's Minimum.
 * Per load balancer: HTTPCode_ELB_5XX_Count, the 502/503/504 the load balancer answers itself when
 * targets crash or time out (it exists per load balancer only).
 *
 * What the target itself says is wrong (signals; each fails the step's gates): the new slot's target
 * group with an unhealthy host for a whole period, and load-balancer 5xx attributed to the new slot.
 * Attribution: during a step the only share of traffic that changed is the new slot's, which rose;
 * so 5xx the load balancer answered above its own rate over the periods before the step (relative
 * to the requests it served) are the new slot's. They signal once they reach
 * `loadBalancerErrorPercent` of the new slot's requests (and at least MIN_LOAD_BALANCER_ERRORS).
 */
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type MetricDataQuery,
  type MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import {
  emptySlotMetrics,
  SLOTS,
  type PeriodFigures,
  type Slot,
  type SlotMetrics,
  type TargetSignal,
  type WindowMetrics,
} from "../driver.ts";
import type { EcsConfig, HighResolutionSettings } from "./config.ts";

/** Periods before a step that give the load balancer's own 5xx rate. */
export const BASELINE_PERIODS = 5;
/** Fewer excess load-balancer 5xx than this never signal (a single 502 is noise). */
export const MIN_LOAD_BALANCER_ERRORS = 5;

export type MetricsConfig = Pick<
  EcsConfig,
  | "metricsPeriodSeconds"
  | "metricsDelaySeconds"
  | "loadBalancerDimension"
  | "targetGroupDimensions"
  | "loadBalancerErrorPercent"
>;

export interface MetricsQuery {
  start: Date;
  end: Date;
  periodSeconds: number;
  queries: MetricDataQuery[];
  /** Milliseconds per unit of the latency series: 1000 for the load balancer's seconds, 1 for custom milliseconds. */
  latencyScale?: number;
  source?: string;
}

export type Series = Map<string, { timestamps: number[]; values: number[] }>;

const NAMESPACE = "AWS/ApplicationELB";

function targetGroupStat(
  config: MetricsConfig,
  slot: Slot,
  id: string,
  metric: string,
  stat: string,
  period: number,
): MetricDataQuery {
  return {
    Id: `${id}_${slot}`,
    MetricStat: {
      Metric: {
        Namespace: NAMESPACE,
        MetricName: metric,
        Dimensions: [
          { Name: "TargetGroup", Value: config.targetGroupDimensions[slot] },
          { Name: "LoadBalancer", Value: config.loadBalancerDimension },
        ],
      },
      Period: period,
      Stat: stat,
    },
    ReturnData: true,
  };
}

function loadBalancerStat(
  config: MetricsConfig,
  id: string,
  metric: string,
  stat: string,
  period: number,
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: NAMESPACE,
        MetricName: metric,
        Dimensions: [{ Name: "LoadBalancer", Value: config.loadBalancerDimension }],
      },
      Period: period,
      Stat: stat,
    },
    ReturnData: true,
  };
}

/**
 * Which periods a window takes. A judged window (a step, or the validation window) takes only the
 * periods that began once it began ("inside"): the period the step was reached in also holds the
 * traffic of the split before it, and a step must be judged on its own share. The charts take every
 * period the window touches ("covering").
 */
export type PeriodAlignment = "inside" | "covering";

/**
 * The GetMetricData request for a window: whole periods only, from the first the window takes (see
 * PeriodAlignment) up to the last one CloudWatch should have published by now (ended at least
 * metricsDelaySeconds ago). Sums per period (so a missing period shows), percentiles per period and
 * over the whole span in one datapoint (percentiles of periods cannot be combined). Null when no such
 * period exists yet.
 */
export function metricsQuery(
  config: MetricsConfig,
  window: { from: Date; to: Date },
  alignment: PeriodAlignment = "covering",
): MetricsQuery | null {
  const period = config.metricsPeriodSeconds;
  const round = alignment === "inside" ? Math.ceil : Math.floor;
  const startS = round(window.from.getTime() / 1000 / period) * period;
  const endS = Math.floor((window.to.getTime() / 1000 - config.metricsDelaySeconds) / period) * period;
  if (endS <= startS) return null;
  const span = endS - startS;
  const queries: MetricDataQuery[] = [];
  for (const slot of SLOTS) {
    queries.push(
      targetGroupStat(config, slot, "requests", "RequestCount", "Sum", period),
      targetGroupStat(config, slot, "errors", "HTTPCode_Target_5XX_Count", "Sum", period),
      targetGroupStat(config, slot, "connerrors", "TargetConnectionErrorCount", "Sum", period),
      targetGroupStat(config, slot, "unhealthy", "UnHealthyHostCount", "Minimum", period),
      targetGroupStat(config, slot, "p50", "TargetResponseTime", "p50", span),
      targetGroupStat(config, slot, "p95", "TargetResponseTime", "p95", span),
      targetGroupStat(config, slot, "p99", "TargetResponseTime", "p99", span),
      targetGroupStat(config, slot, "pp50", "TargetResponseTime", "p50", period),
      targetGroupStat(config, slot, "pp95", "TargetResponseTime", "p95", period),
      targetGroupStat(config, slot, "pp99", "TargetResponseTime", "p99", period),
    );
  }
  queries.push(loadBalancerStat(config, "elb5xx", "HTTPCode_ELB_5XX_Count", "Sum", period));
  return { start: new Date(startS * 1000), end: new Date(endS * 1000), periodSeconds: period, queries };
}

/**
 * The charts' query of the service's own high-resolution metrics: per slot (its slot dimension),
 * requests and errors (Sum) and latency p50/p95/p99 (milliseconds) per period; whole periods that
 * ended at least delaySeconds ago. Null when none has yet.
 */
export function highResolutionQuery(
  settings: HighResolutionSettings,
  window: { from: Date; to: Date },
): MetricsQuery | null {
  const period = settings.periodSeconds;
  const startS = Math.floor(window.from.getTime() / 1000 / period) * period;
  const endS = Math.floor((window.to.getTime() / 1000 - settings.delaySeconds) / period) * period;
  if (endS <= startS) return null;
  const queries: MetricDataQuery[] = [];
  for (const slot of SLOTS) {
    const dimensions = [
      ...settings.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
      { Name: settings.slotDimension, Value: slot },
    ];
    const stat = (id: string, metric: string, s: string): MetricDataQuery => ({
      Id: `${id}_${slot}`,
      MetricStat: {
        Metric: { Namespace: settings.namespace, MetricName: metric, Dimensions: dimensions },
        Period: period,
        Stat: s,
      },
      ReturnData: true,
    });
    queries.push(
      stat("requests", settings.requests, "Sum"),
      stat("errors", settings.errors, "Sum"),
      stat("pp50", settings.latencyMs, "p50"),
      stat("pp95", settings.latencyMs, "p95"),
      stat("pp99", settings.latencyMs, "p99"),
    );
  }
  return {
    start: new Date(startS * 1000),
    end: new Date(endS * 1000),
    periodSeconds: period,
    queries,
    latencyScale: 1,
    source: `CloudWatch, ${period} s periods (high-resolution ${settings.namespace} metrics)`,
  };
}

/**
 * The load balancer's 5xx and each slot's requests over the BASELINE_PERIODS whole periods before the
 * step began (`stepFrom`): the period the step was reached in is neither baseline nor step.
 */
export function baselineQuery(config: MetricsConfig, stepFrom: Date): MetricsQuery {
  const period = config.metricsPeriodSeconds;
  const end = new Date(Math.floor(stepFrom.getTime() / 1000 / period) * period * 1000);
  const queries = [
    loadBalancerStat(config, "elb5xx", "HTTPCode_ELB_5XX_Count", "Sum", period),
    ...SLOTS.map((slot) => targetGroupStat(config, slot, "requests", "RequestCount", "Sum", period)),
  ];
  return {
    start: new Date(end.getTime() - BASELINE_PERIODS * period * 1000),
    end,
    periodSeconds: period,
    queries,
  };
}

/** Runs a query through every page of GetMetricData. */
export async function fetchSeries(cloudwatch: CloudWatchClient, query: MetricsQuery): Promise<Series> {
  const results: Series = new Map();
  let nextToken: string | undefined;
  do {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: query.queries,
        StartTime: query.start,
        EndTime: query.end,
        ScanBy: "TimestampAscending",
        NextToken: nextToken,
      }),
    );
    for (const r of out.MetricDataResults ?? []) mergeResult(results, r);
    nextToken = out.NextToken;
  } while (nextToken);
  return results;
}

function mergeResult(results: Series, r: MetricDataResult): void {
  if (!r.Id) return;
  if (r.StatusCode === "Forbidden" || r.StatusCode === "InternalError") {
    throw new Error(
      `CloudWatch answered ${r.StatusCode} for ${r.Id}${r.Messages?.length ? `: ${r.Messages.map((m) => m.Value).join("; ")}` : ""}`,
    );
  }
  const entry = results.get(r.Id) ?? { timestamps: [], values: [] };
  (r.Timestamps ?? []).forEach((t, i) => {
    entry.timestamps.push(t.getTime());
    entry.values.push(r.Values?.[i] ?? 0);
  });
  results.set(r.Id, entry);
}

const EMPTY = { timestamps: [] as number[], values: [] as number[] };
const series = (results: Series, id: string) => results.get(id) ?? EMPTY;
const sum = (s: { values: number[] }) => s.values.reduce((a, b) => a + b, 0);
const at = (s: { timestamps: number[]; values: number[] }, t: number) => {
  const i = s.timestamps.indexOf(t);
  return i < 0 ? undefined : s.values[i];
};
/** A latency in milliseconds, to the microsecond (`scale`: milliseconds per unit); null for no value. */
const ms = (value: number | undefined, scale = 1000) =>
  value === undefined || Number.isNaN(value) ? null : Math.round(value * scale * 1000) / 1000;
const clock = (t: number) => new Date(t).toISOString().slice(11, 16);

/** The source, in words for verdicts and charts. */
export const metricsSource = (periodSeconds: number) => `CloudWatch, ${periodSeconds} s periods`;

/**
 * Sums, percentiles and per-period figures per slot, whether the window's data is all in, and the
 * new slot's unhealthy hosts. CloudWatch publishes a load balancer's datapoints late, and none for a
 * period without requests; so the window is complete only when some slot has data and every slot
 * with data has its last period's datapoint. No datapoints at all, or a last period still missing,
 * is "still arriving" (the gates wait).
 */
export function readMetrics(
  window: { from: Date; to: Date },
  query: MetricsQuery,
  results: Series,
  newSlot?: Slot,
): WindowMetrics {
  const periodMs = query.periodSeconds * 1000;
  const lastPeriod = query.end.getTime() - periodMs;
  const slots = {} as Record<Slot, SlotMetrics>;
  let anyData = false;
  let allLastIn = true;
  for (const slot of SLOTS) {
    const requests = series(results, `requests_${slot}`);
    const targetErrors = series(results, `errors_${slot}`);
    const connectionErrors = series(results, `connerrors_${slot}`);
    const n = Math.round(sum(requests));
    const e = Math.round(sum(targetErrors) + sum(connectionErrors));
    const periods: PeriodFigures[] = [];
    for (let t = query.start.getTime(); t < query.end.getTime(); t += periodMs) {
      const r = Math.round(at(requests, t) ?? 0);
      periods.push({
        at: new Date(t),
        seconds: query.periodSeconds,
        requests: r,
        errors: Math.round((at(targetErrors, t) ?? 0) + (at(connectionErrors, t) ?? 0)),
        p50: ms(at(series(results, `pp50_${slot}`), t), query.latencyScale),
        p95: ms(at(series(results, `pp95_${slot}`), t), query.latencyScale),
        p99: ms(at(series(results, `pp99_${slot}`), t), query.latencyScale),
      });
    }
    slots[slot] = {
      requests: n,
      errors: e,
      errorRate: n > 0 ? e / n : null,
      p50: ms(series(results, `p50_${slot}`).values[0]),
      p95: ms(series(results, `p95_${slot}`).values[0]),
      p99: ms(series(results, `p99_${slot}`).values[0]),
      periods,
    };
    if (requests.timestamps.length > 0) {
      anyData = true;
      if (!requests.timestamps.includes(lastPeriod)) allLastIn = false;
    }
  }
  const signals: TargetSignal[] = [];
  if (newSlot) {
    const unhealthy = unhealthyHosts(series(results, `unhealthy_${newSlot}`), newSlot, query.periodSeconds);
    if (unhealthy) signals.push(unhealthy);
  }
  return {
    from: window.from,
    to: window.to,
    slots,
    complete: anyData && allLastIn,
    signals,
    source: query.source ?? metricsSource(query.periodSeconds),
  };
}

/** A signal when the slot's target group had an unhealthy host for a whole period (UnHealthyHostCount's Minimum above 0). */
export function unhealthyHosts(
  minimums: { timestamps: number[]; values: number[] },
  slot: Slot,
  periodSeconds: number,
): TargetSignal | null {
  const bad = minimums.timestamps.map((t, i) => ({ t, n: minimums.values[i]! })).filter((p) => p.n > 0);
  if (bad.length === 0) return null;
  const worst = Math.max(...bad.map((p) => p.n));
  const first = Math.min(...bad.map((p) => p.t));
  return {
    kind: "unhealthy_hosts",
    detail: `${slot}'s target group had ${worst === 1 ? "an unhealthy host" : `${worst} unhealthy hosts`} for a whole ${periodSeconds} s period from ${clock(first)} UTC (UnHealthyHostCount; ${bad.length} period${bad.length === 1 ? "" : "s"} in this window)`,
    observed: worst,
    threshold: 0,
  };
}

/**
 * Load-balancer 5xx in the window above what its rate before the step predicts, attributed to the
 * new slot; a signal once they reach loadBalancerErrorPercent of the new slot's requests (and at
 * least MIN_LOAD_BALANCER_ERRORS). Null below that, or with no load-balancer 5xx at all.
 */
export function loadBalancerErrors(
  config: Pick<EcsConfig, "loadBalancerErrorPercent">,
  windowSeries: Series,
  baseline: Series,
  newSlot: Slot,
): TargetSignal | null {
  const during = sum(series(windowSeries, "elb5xx"));
  if (during === 0) return null;
  const requestsDuring = SLOTS.reduce((n, slot) => n + sum(series(windowSeries, `requests_${slot}`)), 0);
  const requestsBefore = SLOTS.reduce((n, slot) => n + sum(series(baseline, `requests_${slot}`)), 0);
  const before = sum(series(baseline, "elb5xx"));
  const rateBefore = requestsBefore > 0 ? before / requestsBefore : 0;
  const excess = Math.round(during - rateBefore * requestsDuring);
  const newRequests = sum(series(windowSeries, `requests_${newSlot}`));
  const threshold = Math.max(
    MIN_LOAD_BALANCER_ERRORS,
    Math.ceil((config.loadBalancerErrorPercent / 100) * newRequests),
  );
  if (excess < threshold) return null;
  const ratePct = Math.round(rateBefore * 100_000) / 1000;
  return {
    kind: "load_balancer_errors",
    detail: `the load balancer answered ${Math.round(during)} 5xx itself (HTTPCode_ELB_5XX_Count) while ${newSlot}'s share rose, ${excess} more than its rate before the step (${ratePct}%) predicts; at least ${threshold} (${config.loadBalancerErrorPercent}% of ${newSlot}'s ${Math.round(newRequests)} requests) fail the step`,
    observed: excess,
    threshold,
  };
}

/** The figures of a window CloudWatch has no whole period of yet. */
export function noPeriodYet(window: { from: Date; to: Date }, periodSeconds: number): WindowMetrics {
  return {
    from: window.from,
    to: window.to,
    slots: { blue: emptySlotMetrics(), green: emptySlotMetrics() },
    complete: false,
    signals: [],
    source: metricsSource(periodSeconds),
  };
}
