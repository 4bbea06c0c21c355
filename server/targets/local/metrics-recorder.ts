/**
 * Per-second request metrics of one environment's two slots, kept in memory for the last 15 minutes.
 * It runs in the local data plane's process (see data-plane/), next to the proxy that feeds it.
 *
 * Every proxied request is recorded with its slot, status and latency. Counts are exact. Latencies go
 * into one HdrHistogram per slot and second (2 significant digits: every value within 1 %). Histograms
 * are "packed" (sparse), so a quiet second costs a few hundred bytes, but a packed histogram is slow to
 * read: each second's buckets are read from it once, and a window of any length inside the retained
 * span adds its seconds' buckets (same bounds), reads percentiles within 1 % from them, and gives them
 * to the judge's rank test. (Merging the histograms themselves on every read took 40 % of a core with
 * twenty environments judged by two panels, and the data plane's own lag then slowed every request.)
 *
 * The panel reads completed seconds (`secondsAfter`, with the weights the proxy routes by) for its
 * charts, and windows (`window`, including the second in progress) for its gates.
 */
import * as hdr from "hdr-histogram-js";
import type JsHistogram from "hdr-histogram-js/dist/JsHistogram";
import {
  SLOTS,
  type LatencyBuckets,
  type Slot,
  type SlotMetrics,
  type SlowestMoment,
  type Weights,
} from "../driver.ts";
import { mergeBuckets, percentileOf } from "../../stats/latency-buckets.ts";

export const RETENTION_SECONDS = 15 * 60;
/** Latencies are recorded in microseconds, from 1 µs to an hour. */
const HISTOGRAM_SETTINGS = {
  bitBucketSize: "packed",
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000,
  numberOfSignificantValueDigits: 2,
} as const;

export const newHistogram = (): hdr.Histogram => hdr.build(HISTOGRAM_SETTINGS);

export interface SecondSlotSample {
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SecondSample {
  /** Start of the second. */
  at: Date;
  slots: Record<Slot, SecondSlotSample>;
  weights: Weights;
}

/** A slot's requests over a window, as the data plane sends them (times as epoch ms). */
export type SlotWindow = Omit<SlotMetrics, "latency" | "periods" | "firstErrorAt"> & {
  latency: LatencyBuckets;
  /** When the window's first failed request was answered (epoch ms), or null. */
  firstErrorAt: number | null;
};

/** A slowest moment spans at most this many adjacent seconds (a stall of up to a second, wherever it falls). */
export const MOMENT_SECONDS = 2;

/**
 * A second in which a request of a slot could have been held up this long by the machine (a tenth of the
 * default 500 ms ceiling) was the machine's: its requests, and those in flight through it (answered in the
 * next second, or later for slower ones), are set aside.
 */
export const HELD_BACK_MS = 50;

/**
 * How many seconds before the one its requests were answered in they may have been in flight through,
 * and held up there: as many as its slowest took, rounded up, at least one (a request answered early in a
 * second began in the one before) and at most two. A hold read in one second adds at most about a second
 * to a request, so one answered more than two seconds after it took over a second more than the hold
 * could add: slower than the default ceiling by itself, and judged. A request of 1.5 s answered in
 * second 7 may have begun in second 5, and been held up then.
 */
export function secondsInFlightBefore(slowestMs: number): number {
  return Math.min(2, Math.max(1, Math.ceil(slowestMs / 1000)));
}

/** An error is a 5xx answer or an upstream failure (recorded as status 0 or 502 by the proxy). */
export const isError = (status: number): boolean => status >= 500 || status <= 0;

/** A histogram's non-empty buckets in milliseconds, ascending. */
export function latencyBuckets(histogram: hdr.Histogram): LatencyBuckets {
  const buckets: { upToMs: number; count: number }[] = [];
  if (histogram.totalCount === 0) return buckets;
  // build() makes the pure-JavaScript histogram, which carries its own iterator.
  const iterator = (histogram as unknown as JsHistogram).recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const step = iterator.next();
    buckets.push({ upToMs: step.valueIteratedTo / 1000, count: step.countAtValueIteratedTo });
  }
  return buckets;
}

/** The run of at most MOMENT_SECONDS adjacent seconds whose requests spent the most time (the earliest of equals). */
function slowestMoment(seconds: { second: number; buckets: LatencyBuckets; spentMs: number }[]): SlowestMoment | null {
  let best: { first: number; last: number; spentMs: number } | null = null;
  for (let i = 0; i < seconds.length; i++) {
    let spentMs = 0;
    let last = i;
    for (let j = i; j < seconds.length && seconds[j]!.second < seconds[i]!.second + MOMENT_SECONDS; j++) {
      spentMs += seconds[j]!.spentMs;
      last = j;
    }
    if (!best || spentMs > best.spentMs) best = { first: i, last, spentMs };
  }
  if (!best) return null;
  return {
    from: seconds[best.first]!.second * 1000,
    to: seconds[best.last]!.second * 1000,
    latency: mergeBuckets(seconds.slice(best.first, best.last + 1).map((s) => s.buckets)),
  };
}

class SlotSecond {
  requests = 0;
  errors = 0;
  firstErrorAt: number | null = null;
  /** The time its requests spent together (ms): what makes a moment the slowest. */
  spentMs = 0;
  /** How long a request of the slot could have been held up by the machine in this second (ms), where the data plane measured it. */
  heldUpMs = 0;
  private histogramNow: hdr.Histogram | null = null;
  /** The histogram's buckets, read once: a packed histogram is slow to read, and a second is read by every window over it. */
  private bucketsRead: LatencyBuckets | null = null;

  get buckets(): LatencyBuckets {
    if (!this.histogramNow) return [];
    return (this.bucketsRead ??= latencyBuckets(this.histogramNow));
  }

  reset(): void {
    this.requests = 0;
    this.errors = 0;
    this.firstErrorAt = null;
    this.spentMs = 0;
    this.heldUpMs = 0;
    this.bucketsRead = null;
    this.histogramNow?.reset();
  }

  add(latencyMs: number, error: boolean, at: number): void {
    this.requests++;
    if (error) {
      this.errors++;
      if (this.firstErrorAt === null || at < this.firstErrorAt) this.firstErrorAt = at;
    }
    this.spentMs += latencyMs;
    this.bucketsRead = null;
    this.histogramNow ??= newHistogram();
    this.histogramNow.recordValue(
      Math.min(HISTOGRAM_SETTINGS.highestTrackableValue, Math.max(1, Math.round(latencyMs * 1000))),
    );
  }
}

class Bucket {
  /** Epoch second this bucket holds, or -1 when empty. */
  second = -1;
  readonly slots: Record<Slot, SlotSecond> = { blue: new SlotSecond(), green: new SlotSecond() };
}

export interface MetricsRecorderOptions {
  /** Weights the proxy routes by now; attached to each emitted second. */
  weights?: () => Weights;
  /** For tests: the clock. */
  now?: () => number;
  /** Told of every response as it is recorded (the data plane's traffic guard). */
  onRecord?: (slot: Slot, failed: boolean, at: number) => void;
}

export class MetricsRecorder {
  private readonly ring: Bucket[] = Array.from({ length: RETENTION_SECONDS }, () => new Bucket());
  private readonly weights: () => Weights;
  private readonly now: () => number;
  private readonly onRecord: MetricsRecorderOptions["onRecord"];

  constructor(options: MetricsRecorderOptions = {}) {
    this.weights = options.weights ?? (() => ({ blue: 100, green: 0 }));
    this.now = options.now ?? Date.now;
    this.onRecord = options.onRecord;
  }

  record(slot: Slot, status: number, latencyMs: number, at: number | Date = this.now()): void {
    const ms = typeof at === "number" ? at : at.getTime();
    const bucket = this.bucketOf(Math.floor(ms / 1000));
    if (!bucket) return;
    bucket.slots[slot].add(latencyMs, isError(status), ms);
    this.onRecord?.(slot, isError(status), ms);
  }

  /**
   * Between `fromMs` and `toMs`, a request of the slot could have been held up by the machine for
   * `heldUpMs`: its process's mean wait per time slice for a CPU, the data plane's own, or the data
   * plane's event-loop lag, the longest (see data-plane/cpu-wait.ts). Every second in between counts it.
   */
  recordHeldUp(slot: Slot, fromMs: number, toMs: number, heldUpMs: number): void {
    if (!(toMs > fromMs) || !(heldUpMs > 0)) return;
    for (let second = Math.floor(fromMs / 1000); second * 1000 < toMs; second++) {
      const data = this.bucketOf(second)?.slots[slot];
      if (data) data.heldUpMs = Math.max(data.heldUpMs, heldUpMs);
    }
  }

  /** The bucket of an epoch second, emptied if it held an older one; null when the second is beyond retention. */
  private bucketOf(second: number): Bucket | null {
    const bucket = this.ring[second % RETENTION_SECONDS]!;
    if (bucket.second === second) return bucket;
    // Older than what the bucket holds: beyond retention, dropped.
    if (bucket.second > second) return null;
    bucket.second = second;
    bucket.slots.blue.reset();
    bucket.slots.green.reset();
    return bucket;
  }

  /** How long the slot, or the data plane timing it, was held up in an epoch second (0 when not measured or not retained). */
  private heldUpIn(second: number, slot: Slot): number {
    const bucket = this.ring[second % RETENTION_SECONDS]!;
    return bucket.second === second ? bucket.slots[slot].heldUpMs : 0;
  }

  /** The longest the slot was held up in a second, or in the seconds before it its requests were in flight through. */
  private heldUpWhileInFlight(second: number, slot: Slot, slowestMs: number): number {
    let longest = 0;
    for (let s = second - secondsInFlightBefore(slowestMs); s <= second; s++)
      longest = Math.max(longest, this.heldUpIn(s, slot));
    return longest;
  }

  /**
   * Requests, errors, percentiles and the latency distribution over every second that overlaps [from, to),
   * and the slot's slowest moment in it (see SlowestMoment).
   */
  window(from: Date | number, to: Date | number): Record<Slot, SlotWindow> {
    const fromMs = typeof from === "number" ? from : from.getTime();
    const toMs = typeof to === "number" ? to : to.getTime();
    const nowSecond = Math.floor(this.now() / 1000);
    const first = Math.max(Math.floor(fromMs / 1000), nowSecond - RETENTION_SECONDS + 1);
    const last = Math.min(Math.ceil(toMs / 1000) - 1, nowSecond);
    const result = {} as Record<Slot, SlotWindow>;
    for (const slot of SLOTS) {
      let requests = 0;
      let errors = 0;
      let firstErrorAt: number | null = null;
      const all: LatencyBuckets[] = [];
      /** The seconds the machine did not hold back, for the slowest moment. */
      const seconds: { second: number; buckets: LatencyBuckets; spentMs: number }[] = [];
      const heldBack = { seconds: 0, longestWaitMs: 0, buckets: [] as LatencyBuckets[] };
      for (let s = first; s <= last; s++) {
        const bucket = this.ring[s % RETENTION_SECONDS]!;
        if (bucket.second !== s) continue;
        const data = bucket.slots[slot];
        requests += data.requests;
        errors += data.errors;
        if (data.firstErrorAt !== null && (firstErrorAt === null || data.firstErrorAt < firstErrorAt))
          firstErrorAt = data.firstErrorAt;
        if (!data.requests) continue;
        const buckets = data.buckets;
        all.push(buckets);
        const waitedMs = this.heldUpWhileInFlight(s, slot, buckets.at(-1)!.upToMs);
        if (waitedMs >= HELD_BACK_MS) {
          heldBack.seconds++;
          heldBack.longestWaitMs = Math.max(heldBack.longestWaitMs, waitedMs);
          heldBack.buckets.push(buckets);
        } else seconds.push({ second: s, buckets, spentMs: data.spentMs });
      }
      const latency = mergeBuckets(all);
      result[slot] = {
        requests,
        errors,
        errorRate: requests ? errors / requests : null,
        p50: percentileOf(latency, 50),
        p95: percentileOf(latency, 95),
        p99: percentileOf(latency, 99),
        latency,
        firstErrorAt,
        ...(requests ? { slowestMoment: slowestMoment(seconds) } : {}),
        ...(heldBack.seconds
          ? {
              heldBack: {
                seconds: heldBack.seconds,
                longestWaitMs: Math.round(heldBack.longestWaitMs),
                latency: mergeBuckets(heldBack.buckets),
              },
            }
          : {}),
      };
    }
    return result;
  }

  /** Completed seconds after `afterSecond` (epoch seconds), at most the retained ones, oldest first. */
  secondsAfter(afterSecond: number, now: number = this.now()): SecondSample[] {
    const current = Math.floor(now / 1000);
    const first = Math.max(afterSecond + 1, current - RETENTION_SECONDS + 1);
    const samples: SecondSample[] = [];
    const weights = { ...this.weights() };
    for (let s = first; s < current; s++) {
      const bucket = this.ring[s % RETENTION_SECONDS]!;
      const slots = {} as Record<Slot, SecondSlotSample>;
      for (const slot of SLOTS) {
        const data = bucket.second === s ? bucket.slots[slot] : null;
        const buckets = data?.requests ? data.buckets : [];
        slots[slot] = {
          requests: data?.requests ?? 0,
          errors: data?.errors ?? 0,
          p50: percentileOf(buckets, 50),
          p95: percentileOf(buckets, 95),
          p99: percentileOf(buckets, 99),
        };
      }
      samples.push({ at: new Date(s * 1000), slots, weights });
    }
    return samples;
  }
}
