/**
 * Per-second request metrics of one environment's two slots, kept in memory for the last 15 minutes.
 *
 * Every proxied request is recorded with its slot, status and latency. Raw latencies are kept per
 * second and per slot in a ring buffer of 900 seconds, so `window()` computes exact percentiles over
 * any window inside that span; memory is bounded because the ring is fixed and each second keeps at
 * most `maxSamplesPerSecond` latencies per slot (beyond that, a uniform reservoir sample; request and
 * error counts stay exact).
 *
 * Once a second (`flush`, driven by `start()`'s timer or called directly by tests) completed seconds
 * are handed to the listener, with the weights the proxy routed by at that moment.
 */
import { SLOTS, type Slot, type SlotMetrics, type Weights } from "../driver.ts";

export const RETENTION_SECONDS = 15 * 60;
/** Per slot and second: exact percentiles up to this rate, a uniform sample beyond (worst case ~29 MB per environment). */
export const DEFAULT_MAX_SAMPLES_PER_SECOND = 2_000;

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

export type SecondListener = (sample: SecondSample) => void;

/** An error is a 5xx answer or an upstream failure (recorded as status 0 or 502 by the proxy). */
export const isError = (status: number): boolean => status >= 500 || status <= 0;

/** Nearest-rank percentile of an ascending array: the smallest value with at least p% of values at or below it. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

class SlotSecond {
  requests = 0;
  errors = 0;
  samples = new Float64Array(16);
  count = 0;

  reset(): void {
    this.requests = 0;
    this.errors = 0;
    this.count = 0;
  }

  add(latencyMs: number, error: boolean, cap: number): void {
    this.requests++;
    if (error) this.errors++;
    if (this.count < cap) {
      if (this.count === this.samples.length) {
        const grown = new Float64Array(Math.min(cap, this.samples.length * 2));
        grown.set(this.samples);
        this.samples = grown;
      }
      this.samples[this.count++] = latencyMs;
    } else {
      // Reservoir sampling keeps a uniform sample of the second's latencies.
      const j = Math.floor(Math.random() * this.requests);
      if (j < cap) this.samples[j] = latencyMs;
    }
  }

  view(): Float64Array {
    return this.samples.subarray(0, this.count);
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
  maxSamplesPerSecond?: number;
  /** For tests: the clock. */
  now?: () => number;
}

export class MetricsRecorder {
  private readonly ring: Bucket[] = Array.from({ length: RETENTION_SECONDS }, () => new Bucket());
  private readonly cap: number;
  private readonly weights: () => Weights;
  private readonly now: () => number;
  private readonly listeners = new Set<SecondListener>();
  /** The last second handed to listeners. */
  private lastFlushed: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: MetricsRecorderOptions = {}) {
    this.cap = Math.max(1, options.maxSamplesPerSecond ?? DEFAULT_MAX_SAMPLES_PER_SECOND);
    this.weights = options.weights ?? (() => ({ blue: 100, green: 0 }));
    this.now = options.now ?? Date.now;
    this.lastFlushed = Math.floor(this.now() / 1000) - 1;
  }

  record(slot: Slot, status: number, latencyMs: number, at: number | Date = this.now()): void {
    const ms = typeof at === "number" ? at : at.getTime();
    const second = Math.floor(ms / 1000);
    const bucket = this.ring[second % RETENTION_SECONDS]!;
    if (bucket.second !== second) {
      // Older than what the bucket holds: beyond retention, dropped.
      if (bucket.second > second) return;
      bucket.second = second;
      bucket.slots.blue.reset();
      bucket.slots.green.reset();
    }
    bucket.slots[slot].add(latencyMs, isError(status), this.cap);
  }

  /** Requests, errors and exact percentiles over every second that overlaps [from, to). */
  window(from: Date | number, to: Date | number): Record<Slot, SlotMetrics> {
    const fromMs = typeof from === "number" ? from : from.getTime();
    const toMs = typeof to === "number" ? to : to.getTime();
    const nowSecond = Math.floor(this.now() / 1000);
    const first = Math.max(Math.floor(fromMs / 1000), nowSecond - RETENTION_SECONDS + 1);
    const last = Math.min(Math.ceil(toMs / 1000) - 1, nowSecond);
    const result = {} as Record<Slot, SlotMetrics>;
    for (const slot of SLOTS) {
      let requests = 0;
      let errors = 0;
      const parts: Float64Array[] = [];
      let total = 0;
      for (let s = first; s <= last; s++) {
        const bucket = this.ring[s % RETENTION_SECONDS]!;
        if (bucket.second !== s) continue;
        const data = bucket.slots[slot];
        requests += data.requests;
        errors += data.errors;
        if (data.count) {
          parts.push(data.view());
          total += data.count;
        }
      }
      const all = new Float64Array(total);
      let offset = 0;
      for (const part of parts) {
        all.set(part, offset);
        offset += part.length;
      }
      all.sort();
      result[slot] = {
        requests,
        errors,
        errorRate: requests ? errors / requests : null,
        p50: percentile(all, 50),
        p95: percentile(all, 95),
        p99: percentile(all, 99),
      };
    }
    return result;
  }

  onSecond(listener: SecondListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands every completed second since the last flush to the listeners (at most the retained ones). */
  flush(now: number = this.now()): SecondSample[] {
    const current = Math.floor(now / 1000);
    const first = Math.max(this.lastFlushed + 1, current - RETENTION_SECONDS + 1);
    const samples: SecondSample[] = [];
    if (current - 1 < first) return samples;
    const weights = { ...this.weights() };
    for (let s = first; s < current; s++) {
      const bucket = this.ring[s % RETENTION_SECONDS]!;
      const slots = {} as Record<Slot, SecondSlotSample>;
      for (const slot of SLOTS) {
        const data = bucket.second === s ? bucket.slots[slot] : null;
        if (!data || data.requests === 0) {
          slots[slot] = { requests: 0, errors: 0, p50: null, p95: null, p99: null };
          continue;
        }
        const sorted = Float64Array.from(data.view()).sort();
        slots[slot] = { requests: data.requests, errors: data.errors, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
      }
      samples.push({ at: new Date(s * 1000), slots, weights });
    }
    this.lastFlushed = current - 1;
    for (const sample of samples) {
      for (const listener of this.listeners) {
        try {
          listener(sample);
        } catch {
          // A listener's failure is its own; the next one still gets the sample.
        }
      }
    }
    return samples;
  }

  /** Flushes shortly after each second boundary. */
  start(): void {
    if (this.timer) return;
    const schedule = () => {
      const delay = 1000 - (Date.now() % 1000) + 5;
      this.timer = setTimeout(() => {
        this.flush();
        schedule();
      }, delay);
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
