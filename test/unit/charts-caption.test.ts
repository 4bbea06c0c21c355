/**
 * What the charts say about their feed: nothing for the local target's seconds; for an ECS
 * environment, CloudWatch's period and how far behind its newest period is.
 */
import { describe, expect, it } from "vitest";
import { feedCaption, type ChartPoint } from "../../components/MetricsCharts.tsx";

const at = (iso: string) => Date.parse(iso);
const time = (t: number) =>
  new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

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
});
