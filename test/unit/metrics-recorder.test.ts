import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isError,
  latencyBuckets,
  MetricsRecorder,
  newHistogram,
  RETENTION_SECONDS,
  secondsInFlightBefore,
} from "../../server/targets/local/metrics-recorder.ts";
import { percentileOf } from "../../server/stats/latency-buckets.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0); // on a second boundary
const at = (seconds: number) => T0 + seconds * 1000;

/** A recorder on a clock the test moves. */
function recorderAt(startSeconds = 0, options: { weights?: () => { blue: number; green: number } } = {}) {
  const clock = { now: at(startSeconds) };
  const recorder = new MetricsRecorder({ now: () => clock.now, ...options });
  return { recorder, clock };
}

/** Nearest rank: the smallest value with at least p % of the values at or below it. */
function exactPercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const within1Percent = (actual: number | null, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(expected * 0.01 + 0.001);
};

describe("latency histograms", () => {
  it("a window's percentiles, over any set of latencies spread over its seconds, are within 1 % of the exact nearest-rank value (fast-check, 300 sets)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0.05, max: 120_000, noNaN: true }), fc.integer({ min: 0, max: 9 })), {
          minLength: 1,
          maxLength: 400,
        }),
        fc.constantFrom(50, 90, 95, 99),
        (values, p) => {
          const { recorder } = recorderAt(20);
          for (const [v, second] of values) recorder.record("green", 200, v, at(second) + 500);
          const green = recorder.window(at(0), at(10)).green;
          within1Percent(
            green[`p${p}` as "p50"] ?? percentileOf(green.latency, p),
            exactPercentile(
              values.map(([v]) => Math.max(0.001, Math.round(v * 1000) / 1000)),
              p,
            ),
          );
        },
      ),
      { numRuns: 300, seed: 20261201 },
    );
  });

  it("buckets are ascending, hold every request, and bound each value from above within 1 %", () => {
    const histogram = newHistogram();
    const values = [0.2, 1, 1, 3.3, 47, 47.2, 500, 2500.5];
    for (const v of values) histogram.recordValue(Math.round(v * 1000));
    const buckets = latencyBuckets(histogram);
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(values.length);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.upToMs).toBeGreaterThan(buckets[i - 1]!.upToMs);
    for (const v of values) {
      const bucket = buckets.find((b) => b.upToMs >= v)!;
      expect(bucket.upToMs).toBeLessThanOrEqual(v * 1.01);
    }
  });

  it("an empty histogram has no percentile and no buckets", () => {
    expect(percentileOf(latencyBuckets(newHistogram()), 95)).toBeNull();
    expect(latencyBuckets(newHistogram())).toEqual([]);
  });
});

describe("isError", () => {
  it.each([
    [200, false],
    [302, false],
    [404, false],
    [499, false],
    [500, true],
    [502, true],
    [503, true],
    [0, true],
  ])("status %i → %s", (status, expected) => expect(isError(status)).toBe(expected));
});

describe("window()", () => {
  it("computes exact requests, errors and error rate, percentiles within 1 %, buckets and the first error per slot", () => {
    const { recorder } = recorderAt(10);
    // Blue: latencies 1..100 over two seconds, every tenth an error. Green: nothing.
    for (let i = 1; i <= 100; i++) recorder.record("blue", i % 10 === 0 ? 503 : 200, i, at(i <= 50 ? 3 : 4) + i);
    const result = recorder.window(at(3), at(5));
    expect(result.blue).toMatchObject({ requests: 100, errors: 10, errorRate: 0.1, firstErrorAt: at(3) + 10 });
    within1Percent(result.blue.p50, 50);
    within1Percent(result.blue.p95, 95);
    within1Percent(result.blue.p99, 99);
    expect(result.blue.latency.reduce((n, b) => n + b.count, 0)).toBe(100);
    expect(result.green).toEqual({
      requests: 0,
      errors: 0,
      errorRate: null,
      p50: null,
      p95: null,
      p99: null,
      latency: [],
      firstErrorAt: null,
    });
  });

  // Seconds that overlap [from, to) are in; a second that ends at `from` or starts at `to` is out.
  const edges: Array<[string, number, number, number]> = [
    ["exactly the three seconds", at(2), at(5), 3],
    ["from inside a second includes that second", at(2) + 500, at(5), 3],
    ["to inside a second includes that second", at(2), at(4) + 1, 3],
    ["to on a boundary excludes the second starting there", at(2), at(4), 2],
    ["from at the end of a second excludes it", at(3), at(5), 2],
    ["an empty window", at(3), at(3), 0],
    ["a window before everything", at(-20), at(-10), 0],
    ["a window after everything", at(6), at(8), 0],
  ];
  it.each(edges)("edges: %s", (_name, from, to, expectedRequests) => {
    const { recorder } = recorderAt(10);
    // One request in each of seconds 2, 3 and 4 (at their middle).
    for (const second of [2, 3, 4]) recorder.record("green", 200, second, at(second) + 500);
    expect(recorder.window(from, to).green.requests).toBe(expectedRequests);
  });

  it("includes the second in progress", () => {
    const { recorder, clock } = recorderAt(5);
    clock.now = at(5) + 300;
    recorder.record("green", 500, 7, at(5) + 200);
    expect(recorder.window(at(4), clock.now).green).toMatchObject({
      requests: 1,
      errors: 1,
      firstErrorAt: at(5) + 200,
    });
  });

  const eviction: Array<[string, number, number]> = [
    ["kept for the full 15 minutes", RETENTION_SECONDS - 1, 1],
    ["gone after 15 minutes", RETENTION_SECONDS, 0],
    ["gone long after", 5 * RETENTION_SECONDS, 0],
  ];
  it.each(eviction)("eviction: a second is %s", (_name, secondsLater, expected) => {
    const { recorder, clock } = recorderAt(0);
    recorder.record("blue", 200, 5, at(0));
    clock.now = at(secondsLater);
    expect(recorder.window(at(0), at(secondsLater + 1)).blue.requests).toBe(expected);
  });

  it("overwrites a ring slot with the new second's data, not a mix", () => {
    const { recorder, clock } = recorderAt(0);
    recorder.record("blue", 500, 1000, at(0));
    clock.now = at(RETENTION_SECONDS);
    recorder.record("blue", 200, 3, at(RETENTION_SECONDS)); // same ring index as second 0
    const w = recorder.window(at(0), at(RETENTION_SECONDS + 1)).blue;
    expect(w).toMatchObject({ requests: 1, errors: 0, firstErrorAt: null });
    within1Percent(w.p99, 3);
  });

  it("drops a record older than what its ring slot already holds", () => {
    const { recorder, clock } = recorderAt(0);
    clock.now = at(RETENTION_SECONDS);
    recorder.record("blue", 200, 3, at(RETENTION_SECONDS));
    recorder.record("blue", 200, 9, at(0)); // late, and long evicted
    expect(recorder.window(at(0), at(RETENTION_SECONDS + 1)).blue.requests).toBe(1);
  });

  it("names each slot's slowest moment: the (at most two adjacent) seconds whose requests spent the most time", () => {
    const { recorder } = recorderAt(20);
    // Green: 10 fast requests a second for seconds 2..9; a stall in seconds 5 and 6 (4 + 3 requests of 540 ms);
    // Second 9 spends the most time of any one second (5 requests of 500 ms), but seconds 5 and 6 together spend more.
    for (let s = 2; s <= 9; s++) for (let i = 0; i < 10; i++) recorder.record("green", 200, 3, at(s) + 10 * i);
    for (let i = 0; i < 4; i++) recorder.record("green", 200, 540, at(5) + 900);
    for (let i = 0; i < 3; i++) recorder.record("green", 200, 540, at(6) + 100);
    for (let i = 0; i < 5; i++) recorder.record("green", 200, 500, at(9) + 500);
    const green = recorder.window(at(2), at(10)).green;
    expect(green.slowestMoment).toMatchObject({ from: at(5), to: at(6) });
    const moment = green.slowestMoment!.latency;
    expect(moment.reduce((n, b) => n + b.count, 0)).toBe(27);
    expect(moment.filter((b) => b.upToMs > 500).reduce((n, b) => n + b.count, 0)).toBe(7);
    // Its buckets are the window's own, so the judge can take them out of it exactly.
    const bounds = new Set(green.latency.map((b) => b.upToMs));
    expect(moment.every((b) => bounds.has(b.upToMs))).toBe(true);
    // One second alone is a moment too; a slot without requests has none.
    expect(recorder.window(at(9), at(10)).green.slowestMoment).toMatchObject({ from: at(9), to: at(9) });
    expect(recorder.window(at(2), at(10)).blue).not.toHaveProperty("slowestMoment");
  });

  describe("the seconds the machine held a slot back (recordHeldUp)", () => {
    /** Green: 10 requests of 3 ms every second from 2 to 9, and 5 of 900 ms in second `slow`. */
    function greenWith(slow: number) {
      const { recorder } = recorderAt(20);
      for (let s = 2; s <= 9; s++) for (let i = 0; i < 10; i++) recorder.record("green", 200, 3, at(s) + 10 * i);
      for (let i = 0; i < 5; i++) recorder.record("green", 200, 900, at(slow) + 500);
      return recorder;
    }
    const count = (buckets: readonly { count: number }[]) => buckets.reduce((n, b) => n + b.count, 0);

    it.each([
      // [what, hold-ups as [from s, to s, ms], held-back seconds, their requests]
      ["nothing measured", [], 0, 0],
      ["under 50 ms in every second", [[2, 10, 49]], 0, 0],
      ["50 ms in one second: that second and the next", [[4, 5, 50]], 2, 20],
      ["a hold-up read over two seconds counts in each (and the next)", [[4, 6, 80]], 3, 30],
      ["the window's last second sets aside no second after the window", [[9, 10, 500]], 1, 10],
      ["the second before the window sets aside its first", [[1, 2, 500]], 1, 10],
      [
        "of two readings of one second, the longer counts",
        [
          [4, 5, 10],
          [4, 5, 60],
          [4, 5, 20],
        ],
        2,
        20,
      ],
    ] as const)("%s", (_what, holdUps, seconds, requests) => {
      const recorder = greenWith(7);
      for (const [from, to, ms] of holdUps as readonly (readonly number[])[])
        recorder.recordHeldUp("green", at(from!), at(to!), ms!);
      const green = recorder.window(at(2), at(10)).green;
      if (seconds === 0) return expect(green).not.toHaveProperty("heldBack");
      expect(green.heldBack).toMatchObject({ seconds });
      expect(count(green.heldBack!.latency)).toBe(requests);
      // Its buckets are the window's own, so the judge can take them out of it exactly.
      const bounds = new Set(green.latency.map((b) => b.upToMs));
      expect(green.heldBack!.latency.every((b) => bounds.has(b.upToMs))).toBe(true);
      // The window's own figures still count every request.
      expect(green.requests).toBe(85);
    });

    it("names the slowest moment among the seconds that were not held back", () => {
      const recorder = greenWith(7);
      recorder.recordHeldUp("green", at(7), at(8), 400);
      const green = recorder.window(at(2), at(10)).green;
      expect(green.heldBack).toMatchObject({ seconds: 2, longestWaitMs: 400 });
      expect(count(green.heldBack!.latency.filter((b) => b.upToMs > 500))).toBe(5);
      // The stall was the machine's; the moment is some other pair of quiet seconds, with no slow request.
      expect(green.slowestMoment!.latency.every((b) => b.upToMs < 500)).toBe(true);
    });

    it("sets aside a slower second's requests when the machine held the slot while they were in flight", () => {
      // 5 requests of 1.5 s answered in second 7 may have begun in second 5, when the machine held the slot.
      const { recorder } = recorderAt(20);
      for (let s = 2; s <= 9; s++) for (let i = 0; i < 10; i++) recorder.record("green", 200, 3, at(s) + 10 * i);
      for (let i = 0; i < 5; i++) recorder.record("green", 200, 1_500, at(7) + 100);
      recorder.recordHeldUp("green", at(5), at(6), 300);
      const green = recorder.window(at(2), at(10)).green;
      // Second 5, the next (6), and 7; not 8, whose requests took 3 ms and began in second 7 or 8.
      expect(green.heldBack).toMatchObject({ seconds: 3, longestWaitMs: 300 });
      expect(count(green.heldBack!.latency)).toBe(35);
      expect(count(green.heldBack!.latency.filter((b) => b.upToMs > 1_000))).toBe(5);
    });

    it.each([
      // [what, the slow requests' ms, the second held up, set aside]
      ["1.5 s, held two seconds before: in flight then", 1_500, 5, true],
      ["1.5 s, held three seconds before: not begun yet", 1_500, 4, false],
      ["10 s, held three seconds before: slower than a hold explains, judged", 10_000, 4, false],
    ] as const)("%s", (_what, ms, heldSecond, setAside) => {
      const { recorder } = recorderAt(20);
      for (let i = 0; i < 5; i++) recorder.record("green", 200, ms, at(7) + 100);
      recorder.recordHeldUp("green", at(heldSecond), at(heldSecond + 1), 300);
      expect(recorder.window(at(2), at(10)).green.heldBack?.seconds ?? 0).toBe(setAside ? 1 : 0);
    });

    it.each([
      // [slowest request's ms, seconds before it answered that it may have been in flight through]
      [3, 1],
      [999, 1],
      [1_000, 1],
      [1_001, 2],
      [2_500, 2],
      [10 ** 9, 2],
    ])("a second whose slowest request took %d ms looks back %d second(s)", (slowestMs, seconds) => {
      expect(secondsInFlightBefore(slowestMs)).toBe(seconds);
    });

    it("keeps each slot's waits apart, and drops waits beyond retention", () => {
      const recorder = greenWith(7);
      recorder.recordHeldUp("blue", at(7), at(8), 400);
      recorder.recordHeldUp("green", at(-RETENTION_SECONDS), at(-RETENTION_SECONDS + 1), 900);
      expect(recorder.window(at(2), at(10)).green).not.toHaveProperty("heldBack");
    });
  });

  it("keeps counts exact and memory small at a high rate: 20,000 requests in one second", () => {
    const { recorder } = recorderAt(10);
    for (let i = 0; i < 20_000; i++) recorder.record("green", i < 10_000 ? 200 : 500, 50 + (i % 7), at(1) + (i % 1000));
    const w = recorder.window(at(1), at(2)).green;
    expect(w).toMatchObject({ requests: 20_000, errors: 10_000, errorRate: 0.5 });
    expect(w.latency.length).toBeLessThanOrEqual(7);
  });
});

describe("secondsAfter() — per-second samples", () => {
  it("returns each completed second after the cursor, empty seconds included, with the weights now", () => {
    const weights = { blue: 90, green: 10 };
    const { recorder, clock } = recorderAt(0, { weights: () => weights });
    recorder.record("blue", 200, 10, at(0) + 100);
    recorder.record("blue", 500, 30, at(0) + 900);
    recorder.record("green", 200, 20, at(0) + 999);
    recorder.record("green", 200, 40, at(2) + 1);
    clock.now = at(3) + 5;
    const seconds = recorder.secondsAfter(Math.floor(at(-1) / 1000));
    expect(seconds.map((s) => s.at.getTime())).toEqual([at(0), at(1), at(2)]);
    expect(seconds[0]!.slots.blue).toMatchObject({ requests: 2, errors: 1 });
    within1Percent(seconds[0]!.slots.blue.p95, 30);
    expect(seconds[1]!.slots.blue).toEqual({ requests: 0, errors: 0, p50: null, p95: null, p99: null });
    within1Percent(seconds[2]!.slots.green.p50, 40);
    expect(seconds[2]!.weights).toEqual({ blue: 90, green: 10 });
    // The cursor moves on: nothing new within the same second.
    expect(recorder.secondsAfter(Math.floor(at(2) / 1000))).toHaveLength(0);
  });

  it("after a long pause returns at most the retained seconds", () => {
    const { recorder, clock } = recorderAt(0);
    clock.now = at(3 * RETENTION_SECONDS);
    expect(recorder.secondsAfter(Math.floor(at(0) / 1000))).toHaveLength(RETENTION_SECONDS - 1);
  });
});
