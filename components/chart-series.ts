/**
 * From metric samples to chart points. Pure (no React), so the rules are unit-tested:
 * - a slot with no requests in a second has no error rate and no latency that second (null, not 0);
 * - a slot with no release on it ("vacant": nothing is live there) has nothing to measure: no point at all;
 * - a second without any sample breaks every line: a point with only its time is inserted, and the
 *   charts draw no line across it (connectNulls is off).
 */
import { formatTime } from "../lib/format";

export type SlotName = "blue" | "green";

export interface SlotSecond {
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** No release on the slot: what reached it measures nothing. */
  vacant?: boolean;
}

export interface Sample {
  /** Start of the second (or CloudWatch period), ms since the epoch. */
  at: number;
  /** How long the sample covers, in seconds (1, or the CloudWatch period). */
  seconds: number;
  slots: Partial<Record<SlotName, SlotSecond>>;
  weights: Partial<Record<SlotName, number>>;
}

export interface ChartPoint {
  t: number;
  /** How long the point covers from `t`: 1 s, or the CloudWatch period. */
  seconds?: number;
  blueRps?: number | null;
  greenRps?: number | null;
  blueErr?: number | null;
  greenErr?: number | null;
  blueP50?: number | null;
  blueP95?: number | null;
  blueP99?: number | null;
  greenP50?: number | null;
  greenP95?: number | null;
  greenP99?: number | null;
  blueWeight?: number | null;
  greenWeight?: number | null;
  /** Slots that had no release this second. */
  vacant?: SlotName[];
}

function slotFields(slot: SlotName, s: SlotSecond | undefined, seconds: number): Partial<ChartPoint> {
  const measured = s && !s.vacant ? s : null;
  const served = measured && measured.requests > 0 ? measured : null;
  return {
    [`${slot}Rps`]: measured ? measured.requests / seconds : null,
    [`${slot}Err`]: served ? (served.errors / served.requests) * 100 : null,
    [`${slot}P50`]: served?.p50 ?? null,
    [`${slot}P95`]: served?.p95 ?? null,
    [`${slot}P99`]: served?.p99 ?? null,
  };
}

export function toPoint(sample: Sample): ChartPoint {
  const vacant = (["blue", "green"] as const).filter((slot) => sample.slots[slot]?.vacant);
  return {
    t: sample.at,
    seconds: sample.seconds,
    ...slotFields("blue", sample.slots.blue, sample.seconds),
    ...slotFields("green", sample.slots.green, sample.seconds),
    blueWeight: sample.weights.blue ?? null,
    greenWeight: sample.weights.green ?? null,
    ...(vacant.length ? { vacant } : {}),
  };
}

/** Points in time order with a break (a point with only `t`) wherever a second has no sample. */
export function withGaps(points: readonly ChartPoint[]): ChartPoint[] {
  const out: ChartPoint[] = [];
  for (const p of points) {
    const prev = out[out.length - 1];
    if (prev) {
      const end = prev.t + (prev.seconds ?? 1) * 1000;
      if (p.t > end) out.push({ t: end });
    }
    out.push(p);
  }
  return out;
}

/** Adds live samples to loaded ones: newer seconds only, oldest dropped before `since`. */
export function mergeSamples(current: readonly Sample[], incoming: readonly Sample[], since: number | null): Sample[] {
  const byTime = new Map<number, Sample>();
  for (const s of current) byTime.set(s.at, s);
  for (const s of incoming) byTime.set(s.at, s);
  return [...byTime.values()].filter((s) => since === null || s.at >= since).sort((a, b) => a.at - b.at);
}

/** Rows as the metric series query returns them (one per slot and second) grouped into samples. */
export function samplesFromRows(
  rows: readonly {
    at: string | Date;
    seconds: number;
    slot: SlotName;
    requests: number;
    errors: number;
    p50: number | null;
    p95: number | null;
    p99: number | null;
    weight: number;
    vacant?: boolean;
  }[],
): Sample[] {
  const byTime = new Map<number, Sample>();
  for (const r of rows) {
    const at = new Date(r.at).getTime();
    const sample = byTime.get(at) ?? { at, seconds: r.seconds, slots: {}, weights: {} };
    sample.slots[r.slot] = {
      requests: r.requests,
      errors: r.errors,
      p50: r.p50,
      p95: r.p95,
      p99: r.p99,
      vacant: r.vacant ?? false,
    };
    sample.weights[r.slot] = r.weight;
    byTime.set(at, sample);
  }
  return [...byTime.values()].sort((a, b) => a.at - b.at);
}

export interface SlotNow {
  rps: number | null;
  errorPercent: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  requests: number;
  vacant: boolean;
}

/**
 * What the figures beside the charts cover. The local target's are the last seconds, so "now"; an ECS
 * environment's come from CloudWatch's newest complete period, which ended a minute or more ago, so
 * the caption says which period (whatever its length, even 1 s high-resolution periods).
 */
export function figuresCaption(samples: readonly Sample[], windowSeconds: number, cloudWatch: boolean): string {
  const last = samples[samples.length - 1];
  if (!cloudWatch || !last) return `Now (last ${windowSeconds} s)`;
  const end = last.at + last.seconds * 1000;
  const from = end - Math.max(windowSeconds, last.seconds) * 1000;
  return `CloudWatch, ${formatTime(from)}–${formatTime(end)}`;
}

/**
 * Each slot's current figures over the last `windowSeconds` of samples: requests per second, error
 * rate, and request-weighted p50/p95/p99.
 */
export function currentFigures(samples: readonly Sample[], windowSeconds = 10): Record<SlotName, SlotNow> | null {
  const last = samples[samples.length - 1];
  if (!last) return null;
  const from = last.at + last.seconds * 1000 - Math.max(windowSeconds, last.seconds) * 1000;
  const recent = samples.filter((s) => s.at >= from);
  const span = recent.reduce((n, s) => n + s.seconds, 0);
  const figures = (slot: SlotName): SlotNow => {
    const seconds = recent.map((s) => s.slots[slot]).filter((s): s is SlotSecond => Boolean(s));
    const vacant = last.slots[slot]?.vacant ?? false;
    const measured = seconds.filter((s) => !s.vacant);
    const requests = measured.reduce((n, s) => n + s.requests, 0);
    const errors = measured.reduce((n, s) => n + s.errors, 0);
    const weighted = (key: "p50" | "p95" | "p99") => {
      const withValue = measured.filter((s) => s[key] !== null && s.requests > 0);
      const weight = withValue.reduce((n, s) => n + s.requests, 0);
      return weight ? withValue.reduce((n, s) => n + s[key]! * s.requests, 0) / weight : null;
    };
    return {
      rps: vacant || !span ? null : requests / span,
      errorPercent: requests ? (errors / requests) * 100 : null,
      p50: weighted("p50"),
      p95: weighted("p95"),
      p99: weighted("p99"),
      requests,
      vacant,
    };
  };
  return { blue: figures("blue"), green: figures("green") };
}
