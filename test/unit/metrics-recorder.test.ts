import { describe, expect, it } from "vitest";
import { MetricsRecorder, RETENTION_SECONDS, isError, percentile, type SecondSample } from "../../server/targets/local/metrics-recorder.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0); // on a second boundary
const at = (seconds: number) => T0 + seconds * 1000;

/** A recorder on a clock the test moves. */
function recorderAt(startSeconds = 0, options: { maxSamplesPerSecond?: number; weights?: () => { blue: number; green: number } } = {}) {
  const clock = { now: at(startSeconds) };
  const recorder = new MetricsRecorder({ now: () => clock.now, ...options });
  return { recorder, clock };
}

describe("percentile (nearest rank)", () => {
  const cases: Array<[string, number[], number, number | null]> = [
    ["empty", [], 50, null],
    ["single value, p50", [7], 50, 7],
    ["single value, p99", [7], 99, 7],
    ["1..10, p50", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    ["1..10, p95", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95, 10],
    ["1..10, p90", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    ["1..100, p99", Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    ["1..100, p95", Array.from({ length: 100 }, (_, i) => i + 1), 95, 95],
    ["1..100, p50", Array.from({ length: 100 }, (_, i) => i + 1), 50, 50],
    ["1..1000, p99", Array.from({ length: 1000 }, (_, i) => i + 1), 99, 990],
    ["two values, p50 is the lower", [10, 20], 50, 10],
    ["two values, p51 is the upper", [10, 20], 51, 20],
    ["p0 is the minimum", [3, 4, 5], 0, 3],
    ["p100 is the maximum", [3, 4, 5], 100, 5],
  ];
  it.each(cases)("%s", (_name, values, p, expected) => {
    expect(percentile(Float64Array.from(values), p)).toBe(expected);
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
  it("computes requests, errors, error rate and exact percentiles per slot over the window", () => {
    const { recorder } = recorderAt(10);
    // Blue: latencies 1..100 over two seconds, every tenth an error. Green: nothing.
    for (let i = 1; i <= 100; i++) recorder.record("blue", i % 10 === 0 ? 503 : 200, i, at(i <= 50 ? 3 : 4) + 10);
    const result = recorder.window(at(3), at(5));
    expect(result.blue).toEqual({ requests: 100, errors: 10, errorRate: 0.1, p50: 50, p95: 95, p99: 99 });
    expect(result.green).toEqual({ requests: 0, errors: 0, errorRate: null, p50: null, p95: null, p99: null });
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

  it("accepts Dates as well as epoch milliseconds", () => {
    const { recorder } = recorderAt(10);
    recorder.record("blue", 200, 12, new Date(at(1)));
    expect(recorder.window(new Date(at(1)), new Date(at(2))).blue).toMatchObject({ requests: 1, p50: 12 });
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
    expect(recorder.window(at(0), at(RETENTION_SECONDS + 1)).blue).toMatchObject({ requests: 1, errors: 0, p99: 3 });
  });

  it("drops a record older than what its ring slot already holds", () => {
    const { recorder, clock } = recorderAt(0);
    clock.now = at(RETENTION_SECONDS);
    recorder.record("blue", 200, 3, at(RETENTION_SECONDS));
    recorder.record("blue", 200, 9, at(0)); // late, and long evicted
    expect(recorder.window(at(0), at(RETENTION_SECONDS + 1)).blue).toMatchObject({ requests: 1, p50: 3 });
  });

  it("keeps memory bounded: past the per-second cap latencies are sampled, counts stay exact", () => {
    const { recorder } = recorderAt(10, { maxSamplesPerSecond: 100 });
    for (let i = 0; i < 1000; i++) recorder.record("green", i < 500 ? 200 : 500, 50, at(1) + (i % 1000));
    const w = recorder.window(at(1), at(2)).green;
    expect(w).toMatchObject({ requests: 1000, errors: 500, errorRate: 0.5, p50: 50, p99: 50 });
  });
});

describe("flush() — per-second samples", () => {
  it("hands each completed second to the listener once, empty seconds included, with the weights", () => {
    let weights = { blue: 90, green: 10 };
    const { recorder, clock } = recorderAt(0, { weights: () => weights });
    const seen: SecondSample[] = [];
    recorder.onSecond((s) => seen.push(s));

    recorder.record("blue", 200, 10, at(0) + 100);
    recorder.record("blue", 500, 30, at(0) + 900);
    recorder.record("green", 200, 20, at(0) + 999);
    recorder.record("green", 200, 40, at(2) + 1);
    clock.now = at(1) + 5;
    expect(recorder.flush()).toHaveLength(1);
    expect(seen[0]).toEqual({
      at: new Date(at(0)),
      slots: { blue: { requests: 2, errors: 1, p50: 10, p95: 30, p99: 30 }, green: { requests: 1, errors: 0, p50: 20, p95: 20, p99: 20 } },
      weights: { blue: 90, green: 10 },
    });

    // Nothing new within the same second.
    expect(recorder.flush(at(1) + 900)).toHaveLength(0);

    weights = { blue: 50, green: 50 };
    clock.now = at(3) + 5;
    const later = recorder.flush();
    expect(later.map((s) => s.at.getTime())).toEqual([at(1), at(2)]);
    expect(later[0]!.slots.blue).toEqual({ requests: 0, errors: 0, p50: null, p95: null, p99: null });
    expect(later[1]!.slots.green).toEqual({ requests: 1, errors: 0, p50: 40, p95: 40, p99: 40 });
    expect(later[1]!.weights).toEqual({ blue: 50, green: 50 });
    expect(seen).toHaveLength(3);
  });

  it("after a long pause emits at most the retained seconds", () => {
    const { recorder } = recorderAt(0);
    expect(recorder.flush(at(3 * RETENTION_SECONDS))).toHaveLength(RETENTION_SECONDS - 1);
  });

  it("a failing listener does not keep the sample from the others", () => {
    const { recorder } = recorderAt(0);
    const got: number[] = [];
    recorder.onSecond(() => {
      throw new Error("boom");
    });
    const unsubscribe = recorder.onSecond((s) => got.push(s.at.getTime()));
    recorder.flush(at(2));
    unsubscribe();
    recorder.flush(at(4));
    expect(got).toEqual([at(0), at(1)]);
  });
});
