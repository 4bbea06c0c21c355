/**
 * The ECS target's reading of CloudWatch, as tables: load-balancer 5xx attributed to the new slot
 * against the load balancer's own rate before the step, and unhealthy hosts for a whole period.
 */
import { describe, expect, it } from "vitest";
import { loadBalancerErrors, unhealthyHosts, type Series } from "../../server/targets/ecs/cloudwatch.ts";

const series = (entries: Record<string, number | undefined>): Series =>
  new Map(
    Object.entries(entries)
      .filter((e): e is [string, number] => e[1] !== undefined)
      .map(([id, total]) => [id, { timestamps: [0], values: [total] }]),
  );

describe("loadBalancerErrors: the load balancer's 5xx above its rate before the step, attributed to the new slot", () => {
  const config = { loadBalancerErrorPercent: 1 };
  it.each([
    // during: the window; before: the periods before the step.
    {
      case: "no load-balancer 5xx",
      during: { elb5xx: 0, requests_green: 1000, requests_blue: 1000 },
      before: {},
      signal: null,
    },
    {
      case: "a few 502s: below the minimum of 5",
      during: { elb5xx: 4, requests_green: 100, requests_blue: 900 },
      before: { elb5xx: 0, requests_blue: 1000 },
      signal: null,
    },
    {
      case: "1% of green's requests, nothing before",
      during: { elb5xx: 20, requests_green: 2000, requests_blue: 2000 },
      before: { elb5xx: 0, requests_blue: 4000 },
      signal: { observed: 20, threshold: 20 },
    },
    {
      case: "just under 1% of green's requests",
      during: { elb5xx: 19, requests_green: 2000, requests_blue: 2000 },
      before: { elb5xx: 0, requests_blue: 4000 },
      signal: null,
    },
    // The load balancer already answered 0.5% 5xx before (another listener's trouble): only the rise counts.
    {
      case: "the same rate as before the step",
      during: { elb5xx: 20, requests_green: 2000, requests_blue: 2000 },
      before: { elb5xx: 20, requests_blue: 4000 },
      signal: null,
    },
    {
      case: "a rise over the rate before",
      during: { elb5xx: 60, requests_green: 2000, requests_blue: 2000 },
      before: { elb5xx: 20, requests_blue: 4000 },
      signal: { observed: 40, threshold: 20 },
    },
  ])("$case", ({ during, before, signal }) => {
    const found = loadBalancerErrors(config, series(during), series(before), "green");
    if (signal === null) expect(found).toBeNull();
    else expect(found).toMatchObject({ kind: "load_balancer_errors", ...signal });
  });

  it("names what it saw and the rule", () => {
    expect(
      loadBalancerErrors(
        { loadBalancerErrorPercent: 2 },
        series({ elb5xx: 60, requests_green: 2000, requests_blue: 2000 }),
        series({ elb5xx: 20, requests_blue: 4000 }),
        "green",
      )?.detail,
    ).toBe(
      "the load balancer answered 60 5xx itself (HTTPCode_ELB_5XX_Count) while green's share rose, 40 more than its rate before the step (0.5%) predicts; at least 40 (2% of green's 2000 requests) fail the step",
    );
  });
});

describe("unhealthyHosts: UnHealthyHostCount's Minimum above 0 means a host was unhealthy for the whole period", () => {
  const at = (m: number) => Date.UTC(2026, 10, 24, 14, m);
  it.each([
    { minimums: [0, 0, 0], signal: null },
    { minimums: [], signal: null },
    {
      minimums: [0, 1, 0],
      signal: {
        observed: 1,
        detail:
          "blue's target group had an unhealthy host for a whole 60 s period from 14:01 UTC (UnHealthyHostCount; 1 period in this window)",
      },
    },
    {
      minimums: [3, 1, 0],
      signal: {
        observed: 3,
        detail:
          "blue's target group had 3 unhealthy hosts for a whole 60 s period from 14:00 UTC (UnHealthyHostCount; 2 periods in this window)",
      },
    },
  ])("$minimums", ({ minimums, signal }) => {
    const found = unhealthyHosts({ timestamps: minimums.map((_, i) => at(i)), values: minimums }, "blue", 60);
    if (signal === null) expect(found).toBeNull();
    else expect(found).toEqual({ kind: "unhealthy_hosts", threshold: 0, ...signal });
  });
});
