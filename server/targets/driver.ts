/**
 * The seam between the release engine and real infrastructure. Every method is idempotent: the
 * reconciler may call any of them again after a crash, and calling twice has the effect of once.
 * Drivers report what is, never what they assume (observe reads the world every time).
 */
export type Slot = "blue" | "green";
export const SLOTS: readonly Slot[] = ["blue", "green"];
export const otherSlot = (slot: Slot): Slot => (slot === "blue" ? "green" : "blue");

export type Weights = Record<Slot, number>;

export interface EnvironmentRef {
  id: string;
  serviceSlug: string;
  name: string;
  target: "local" | "ecs";
  targetConfig: unknown;
}

export interface ReleaseRef {
  id: string;
  version: string;
  artifact: string;
  settings: Record<string, unknown>;
}

export interface SlotState {
  slot: Slot;
  /** The release running in the slot, or null when nothing is deployed there. */
  releaseId: string | null;
  desired: number;
  running: number;
  healthy: number;
  pending: number;
  /** `steady` when running equals desired and every instance is healthy. */
  rollout: "steady" | "in_progress" | "failed" | "stopped";
  /** Why the slot is not steady, in the target's own words. */
  detail: string | null;
}

export interface Observed {
  slots: Record<Slot, SlotState>;
  /** Percent of traffic per slot, as the target routes it now. */
  weights: Weights;
  /** The target's traffic guard moved all traffic off a failing slot (see TrafficGuardSpec); absent where it has none. */
  cutOff?: TrafficCutOff | null;
}

/**
 * The new release's error-rate ceiling, given with the weights of a traffic step: a target that sees
 * every response (the local data plane) counts the slot's failures itself and, once the exact binomial
 * test is sure at `confidence` that it fails more often than the ceiling, moves all traffic back to the
 * other slot at once, without waiting for the panel. Targets that cannot act on responses ignore it.
 */
export interface TrafficGuardSpec {
  /** The deployment: a cut-off is reported under it. */
  key: string;
  slot: Slot;
  ceilingPercent: number;
  /** 0..1 */
  confidence: number;
}

/** What a traffic guard did: when all traffic went back to the other slot, and on what figures. */
export interface TrafficCutOff {
  key: string;
  slot: Slot;
  at: Date;
  requests: number;
  errors: number;
  ceilingPercent: number;
  confidence: number;
}

/**
 * A latency distribution as buckets, ascending: `count` requests took more than the previous bucket's
 * `upToMs` and at most this one's. Two slots' buckets need not share bounds. Rank tests (the judge's
 * Mann-Whitney) read it; a source with per-request data (the local data plane's HdrHistogram) or with
 * histogram buckets (Prometheus) provides it.
 */
export type LatencyBuckets = ReadonlyArray<{ upToMs: number; count: number }>;

/** One aggregation period of a source without per-request data (a CloudWatch period). */
export interface PeriodFigures {
  /** Start of the period. */
  at: Date;
  seconds: number;
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * A slot's slowest moment in a window: the seconds (at most two adjacent ones) in which its requests
 * spent the most time together, with their latency buckets (the same bounds as the window's, so they
 * can be taken out of it). A stall of the process or the machine makes every request in flight slow
 * at once: the judge tells such a moment from a slow release by judging the window without it too.
 */
export interface SlowestMoment {
  /** Start of its first and of its last second, epoch milliseconds. */
  from: number;
  to: number;
  latency: LatencyBuckets;
}

/**
 * The seconds of a window in which the machine, not the release, held a slot back: its process's turns
 * on a CPU were delayed, the host took a CPU away, or the proxy timing its requests fell behind, by 50 ms
 * or more (the local target's slots and its data plane share the panel's machine, and a saturated
 * machine makes every slot slow at once). Their requests, and those of later seconds that were in flight
 * through them, are set aside by the latency gates, which judge the release on the other seconds.
 */
export interface HeldBack {
  /** How many of the window's seconds with requests were set aside. */
  seconds: number;
  /** The longest the slot (or the proxy timing it) was held up in one of them, ms. */
  longestWaitMs: number;
  /** Their requests' latency buckets (the same bounds as the window's). */
  latency: LatencyBuckets;
}

export interface SlotMetrics {
  requests: number;
  errors: number;
  /** errors / requests, 0..1; null without requests. */
  errorRate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** The window's latency distribution, where the source has one. */
  latency?: LatencyBuckets;
  /** Per-period figures, where the source aggregates by period instead (CloudWatch). */
  periods?: PeriodFigures[];
  /** Where the source keeps per-second latencies (the local data plane), the window's slowest moment. */
  slowestMoment?: SlowestMoment | null;
  /** Where the source measures how long the slot waited for a CPU (the local data plane), the seconds that were the machine's. */
  heldBack?: HeldBack | null;
  /** When the window's first failed request was answered, where the source knows (for "onset to rollback"). */
  firstErrorAt?: Date | null;
}

/**
 * Something the target itself says is wrong with the new release during the window: an alarm in
 * ALARM, the new slot's hosts unhealthy for a whole period, load-balancer errors attributed to the
 * release. Every signal fails the step's gates, and the verdict names it.
 */
export interface TargetSignal {
  kind: "alarm" | "unhealthy_hosts" | "load_balancer_errors";
  /** One sentence naming what was seen, e.g. `alarm checkout-5xx is in ALARM since 14:02:10`. */
  detail: string;
  observed?: number;
  threshold?: number;
}

export interface WindowMetrics {
  from: Date;
  to: Date;
  slots: Record<Slot, SlotMetrics>;
  /** False when the target's metrics for the window are not all in yet (CloudWatch lags). */
  complete: boolean;
  /** Failures the target reports itself (see TargetSignal); absent or empty when there are none. */
  signals?: TargetSignal[];
  /** Which source the figures came from, in words for verdicts ("CloudWatch, 60 s periods"). */
  source?: string;
  /** Whether a source that can fail to answer (Prometheus) answered for this window; see SourceStatus. */
  sourceStatus?: SourceStatus;
}

/**
 * A metric source that is not the target itself can fail to answer (unreachable, a query error). Then
 * the gates wait, with the error shown, and fail once it has not answered for `limitSeconds`: they
 * never pass without figures.
 */
export type SourceStatus =
  { answered: true } | { answered: false; error: string; forSeconds: number; limitSeconds: number };

/**
 * Per-call options. `signal` aborts the call: the reconciler aborts it at the pass's deadline, and a
 * driver that honours it must stop waiting (and never start a write) once it is aborted, rejecting
 * with an error that says what it was waiting for.
 */
export interface DriverCallOptions {
  signal?: AbortSignal;
}

/** The window a step (or validation) is judged on; `newSlot` is the slot receiving the release, whose failures the target reports as signals. */
export interface MetricsWindow {
  from: Date;
  to: Date;
  newSlot?: Slot;
}

export interface TargetDriver {
  readonly kind: "local" | "ecs";
  observe(env: EnvironmentRef, options?: DriverCallOptions): Promise<Observed>;
  /** Makes `slot` run `release` (with the live slot's capacity); returns once the change is requested. */
  ensureRelease(env: EnvironmentRef, slot: Slot, release: ReleaseRef, options?: DriverCallOptions): Promise<void>;
  setWeights(
    env: EnvironmentRef,
    weights: Weights,
    options?: DriverCallOptions & { guard?: TrafficGuardSpec },
  ): Promise<void>;
  scale(env: EnvironmentRef, slot: Slot, count: number, options?: DriverCallOptions): Promise<void>;
  metrics(env: EnvironmentRef, window: MetricsWindow, options?: DriverCallOptions): Promise<WindowMetrics>;
  /** Where smoke tests reach one slot directly, bypassing the weighted route. */
  slotUrl(env: EnvironmentRef, slot: Slot, options?: DriverCallOptions): Promise<string>;
}

export const emptySlotMetrics = (): SlotMetrics => ({
  requests: 0,
  errors: 0,
  errorRate: null,
  p50: null,
  p95: null,
  p99: null,
});
