/** Chart points from metric samples: no line across a second without data (issue 12 §2). */
import { describe, expect, it } from "vitest";
import { currentFigures, samplesFromRows, toPoint, withGaps, type Sample } from "../../components/chart-series.ts";

const second = (
  at: number,
  blue: { requests: number; errors: number } | null,
  green: { requests: number; errors: number } | null = null,
): Sample => ({
  at: at * 1000,
  seconds: 1,
  slots: {
    ...(blue ? { blue: { ...blue, p50: 5, p95: 9, p99: 12 } } : {}),
    ...(green ? { green: { ...green, p50: 6, p95: 10, p99: 15 } } : {}),
  },
  weights: { blue: 100, green: 0 },
});

describe("chart points", () => {
  it("give a slot without requests no error rate and no latency, rather than 0", () => {
    const p = toPoint(second(1, { requests: 0, errors: 0 }));
    expect(p.blueRps).toBe(0);
    expect(p.blueErr).toBeNull();
    expect(p.blueP95).toBeNull();
  });

  it("break every line at a second without a sample: 100 % errors, seven minutes of nothing, then 0 % is two islands", () => {
    const points = withGaps(
      [second(0, { requests: 10, errors: 10 }), second(420, { requests: 10, errors: 0 })].map(toPoint),
    );
    expect(points).toHaveLength(3);
    expect(points[1]).toEqual({ t: 1000 });
    expect(points[0]!.blueErr).toBe(100);
    expect(points[2]!.blueErr).toBe(0);
  });

  it("need no break between consecutive seconds or within a CloudWatch period", () => {
    expect(
      withGaps([second(0, { requests: 1, errors: 0 }), second(1, { requests: 1, errors: 0 })].map(toPoint)),
    ).toHaveLength(2);
    const minute = (at: number): Sample => ({ ...second(at, { requests: 60, errors: 0 }), seconds: 60 });
    expect(withGaps([minute(0), minute(60)].map(toPoint))).toHaveLength(2);
  });

  it("measure nothing on a slot with no release on it", () => {
    const [sample] = samplesFromRows([
      {
        at: new Date(0),
        seconds: 1,
        slot: "blue",
        requests: 10,
        errors: 10,
        p50: 1,
        p95: 2,
        p99: 3,
        weight: 100,
        vacant: true,
      },
    ]);
    const p = toPoint(sample!);
    expect(p.blueRps).toBeNull();
    expect(p.blueErr).toBeNull();
    expect(p.vacant).toEqual(["blue"]);
    expect(currentFigures([sample!])!.blue).toMatchObject({ vacant: true, rps: null, errorPercent: null });
  });

  it("sum each slot's current figures over the last seconds", () => {
    const figures = currentFigures(
      [second(0, { requests: 10, errors: 0 }), second(1, { requests: 10, errors: 1 }, { requests: 10, errors: 5 })],
      10,
    )!;
    expect(figures.blue).toMatchObject({ rps: 10, errorPercent: 5, p95: 9 });
    expect(figures.green).toMatchObject({ requests: 10, errorPercent: 50 });
  });
});
