/**
 * What the charts say about their feed: nothing for the local target's seconds; for an ECS
 * environment, CloudWatch's period and how far behind its newest period is.
 */
import { describe, expect, it } from "vitest";
import { figuresCaption, type Sample } from "../../components/chart-series.ts";
import { feedCaption, type ChartPoint } from "../../components/MetricsCharts.tsx";
import { formatTime } from "../../lib/format.ts";

const at = (iso: string) => Date.parse(iso);
const time = formatTime;

describe("feedCaption", () => {
  it("says nothing for one point a second, or no points", () => {
    expect(
      feedCaption(
        [{ t: at("2026-12-01T14:00:00Z"), seconds: 1 }, { t: at("2026-12-01T14:00:01Z") }],
        at("2026-12-01T14:00:02Z"),
      ),
    ).toBeNull();
    expect(feedCaption([], Date.now())).toBeNull();
  });

  it("names CloudWatch's period, the newest period and its lag", () => {
    const points: ChartPoint[] = [
      { t: at("2026-12-01T14:03:00Z"), seconds: 60 },
      { t: at("2026-12-01T14:04:00Z"), seconds: 60 },
    ];
    expect(feedCaption(points, at("2026-12-01T14:06:35Z"))).toBe(
      `CloudWatch, 60 s periods; the newest covers ${time(at("2026-12-01T14:04:00Z"))}–${time(at("2026-12-01T14:05:00Z"))} (95 s ago), later periods are still arriving`,
    );
  });

  it("names CloudWatch's 1 s high-resolution periods too: an ECS chart always says where its points come from", () => {
    const points: ChartPoint[] = [{ t: at("2026-12-01T14:04:59Z"), seconds: 1 }];
    expect(feedCaption(points, at("2026-12-01T14:05:30Z"), true)).toBe(
      `CloudWatch, 1 s periods; the newest covers ${time(at("2026-12-01T14:04:59Z"))}–${time(at("2026-12-01T14:05:00Z"))} (30 s ago), later periods are still arriving`,
    );
  });
});

describe("figuresCaption", () => {
  const sample = (iso: string, seconds: number): Sample => ({ at: at(iso), seconds, slots: {}, weights: {} });
  const cases: [string, Sample[], boolean, string][] = [
    ["the local target's seconds", [sample("2026-12-01T14:05:09Z", 1)], false, "Now (last 10 s)"],
    ["no samples yet", [], true, "Now (last 10 s)"],
    [
      "CloudWatch's newest minute",
      [sample("2026-12-01T14:03:00Z", 60), sample("2026-12-01T14:04:00Z", 60)],
      true,
      `CloudWatch, ${formatTime(at("2026-12-01T14:04:00Z"))}–${formatTime(at("2026-12-01T14:05:00Z"))}`,
    ],
    [
      "CloudWatch's 1 s periods, the last ten of them",
      [sample("2026-12-01T14:04:59Z", 1)],
      true,
      `CloudWatch, ${formatTime(at("2026-12-01T14:04:50Z"))}–${formatTime(at("2026-12-01T14:05:00Z"))}`,
    ],
  ];
  for (const [what, samples, cloudWatch, caption] of cases)
    it(`says what the figures cover: ${what}`, () => expect(figuresCaption(samples, 10, cloudWatch)).toBe(caption));
});
