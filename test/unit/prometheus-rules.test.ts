/**
 * Prometheus as a metric source, its pure rules as specifications: the settings and their messages,
 * the PromQL a window runs, and Prometheus's answers turned into the judge's figures (histogram
 * buckets de-cumulated, seconds to milliseconds, quantiles as histogram_quantile() computes them).
 */
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import {
  DEFAULT_QUERIES,
  prometheusSettingsInput,
  unknownPlaceholders,
} from "../../server/targets/prometheus/config.ts";
import {
  latencyBuckets,
  OPEN_BUCKET_MS,
  quantileOf,
  slotFigures,
  type VectorSample,
} from "../../server/targets/prometheus/figures.ts";
import { rangeOf, renderTemplate, windowQueries } from "../../server/targets/prometheus/queries.ts";
import { describeZodError } from "../../server/trpc/init.ts";

const ENV = "8d0c2a86-6a8e-4c1f-9d55-0f3f7b0c9a11";

describe("the settings", () => {
  it("fill in the conventional queries and a 60 s outage limit", () => {
    expect(prometheusSettingsInput.parse({ environmentId: ENV, url: "http://prometheus:9090" })).toEqual({
      environmentId: ENV,
      url: "http://prometheus:9090",
      ...DEFAULT_QUERIES,
      outageLimitSeconds: 60,
    });
    expect(DEFAULT_QUERIES).toEqual({
      requestsQuery: 'http_requests_total{service="{{service}}", environment="{{environment}}", slot="{{slot}}"}',
      errorsQuery:
        'http_requests_total{service="{{service}}", environment="{{environment}}", slot="{{slot}}", code=~"5.."}',
      latencyQuery:
        'http_request_duration_seconds_bucket{service="{{service}}", environment="{{environment}}", slot="{{slot}}"}',
    });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      "a URL that is not one",
      { url: "not a url" },
      "url",
      "URL: must be an http:// or https:// URL, e.g. http://prometheus:9090",
    ],
    [
      "credentials in the URL",
      { url: "https://me:pw@prom.example.com" },
      "url",
      "URL: must not hold credentials; put a bearer token in its own field",
    ],
    [
      "a query string",
      { url: "http://prom:9090/?x=1" },
      "url",
      "URL: must be the server's address without a query or fragment, e.g. http://prometheus:9090",
    ],
    [
      "a token with a space",
      { url: "http://prom:9090", bearerToken: "a b" },
      "bearerToken",
      "Bearer token: must be printable characters without spaces",
    ],
    [
      "an empty query",
      { url: "http://prom:9090", errorsQuery: "  " },
      "errorsQuery",
      "Errors query: must not be empty",
    ],
    [
      "a query for both slots at once",
      { url: "http://prom:9090", requestsQuery: "http_requests_total" },
      "requestsQuery",
      'Requests query: must select one slot with {{slot}}, e.g. slot="{{slot}}"',
    ],
    [
      "an unknown placeholder",
      { url: "http://prom:9090", latencyQuery: 'x{slot="{{slot}}", r="{{ release }}"}' },
      "latencyQuery",
      "Latency query: uses {{ release }}; the placeholders are {{slot}}, {{service}} and {{environment}}",
    ],
    [
      "a fractional limit",
      { url: "http://prom:9090", outageLimitSeconds: 1.5 },
      "outageLimitSeconds",
      "Outage limit in seconds: must be whole seconds",
    ],
  ])("refuse %s, naming the field", (_name, input, path, message) => {
    const result = prometheusSettingsInput.safeParse({ environmentId: ENV, ...input });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path.join(".")).toBe(path);
    expect(describeZodError(new ZodError([issue]))).toBe(message);
  });

  it("know the placeholders, with or without spaces inside the braces", () => {
    expect(unknownPlaceholders('a{slot="{{ slot }}", s="{{service}}", e="{{environment}}"}')).toEqual([]);
    expect(unknownPlaceholders('a{v="{{version}}", w="{{}}"}')).toEqual(["{{version}}", "{{}}"]);
  });
});

describe("the PromQL of a window", () => {
  it("fills in the placeholders, escaped for a PromQL string", () => {
    expect(
      renderTemplate('m{slot="{{slot}}", service="{{ service }}", environment="{{environment}}"}', {
        slot: "green",
        service: 'a"b\\c',
        environment: "staging",
      }),
    ).toBe('m{slot="green", service="a\\"b\\\\c", environment="staging"}');
  });

  it.each([
    [0, "1ms"],
    [0.4, "1ms"],
    [1500, "1500ms"],
    [60_000, "60000ms"],
  ])("covers a window of %s ms exactly: [%s]", (ms, range) => {
    expect(rangeOf({ from: new Date(0), to: new Date(ms) })).toBe(range);
  });

  it("sums increase() over the window, per bucket bound for latency", () => {
    const queries = windowQueries(
      DEFAULT_QUERIES,
      { slot: "blue", service: "checkout", environment: "production" },
      { from: new Date(10_000), to: new Date(40_000) },
    );
    expect(queries).toEqual({
      requestsQuery:
        'sum(increase(http_requests_total{service="checkout", environment="production", slot="blue"}[30000ms]))',
      errorsQuery:
        'sum(increase(http_requests_total{service="checkout", environment="production", slot="blue", code=~"5.."}[30000ms]))',
      latencyQuery:
        'sum by (le) (increase(http_request_duration_seconds_bucket{service="checkout", environment="production", slot="blue"}[30000ms]))',
    });
  });
});

const le = (bound: string, value: number): VectorSample => ({ labels: { le: bound }, value });

describe("Prometheus's answers as the judge's figures", () => {
  it.each<[string, VectorSample[], { upToMs: number; count: number }[]]>([
    [
      "de-cumulates, seconds to milliseconds, in any order",
      [le("0.01", 7), le("+Inf", 10), le("0.005", 4), le("0.1", 9)],
      [
        { upToMs: 5, count: 4 },
        { upToMs: 10, count: 3 },
        { upToMs: 100, count: 2 },
        { upToMs: OPEN_BUCKET_MS, count: 1 },
      ],
    ],
    [
      "rounds increase()'s extrapolated counts to whole requests",
      [le("0.005", 3.6), le("0.01", 4.4), le("+Inf", 8.49)],
      [
        { upToMs: 5, count: 4 },
        { upToMs: OPEN_BUCKET_MS, count: 4 },
      ],
    ],
    [
      "never counts a bucket below zero when extrapolation dips",
      [le("0.005", 5), le("0.01", 4.8), le("0.025", 6)],
      [
        { upToMs: 5, count: 5 },
        { upToMs: 25, count: 1 },
      ],
    ],
    ["leaves out series without a bound", [{ labels: {}, value: 3 }, le("0.5", 2)], [{ upToMs: 500, count: 2 }]],
    ["no requests, no buckets", [le("0.005", 0), le("+Inf", 0)], []],
  ])("%s", (_name, cumulative, expected) => {
    expect(latencyBuckets(cumulative)).toEqual(expected);
  });

  it.each<[string, { upToMs: number; count: number }[], number, number | null]>([
    ["linear within the bucket, as histogram_quantile()", [{ upToMs: 100, count: 10 }], 0.5, 50],
    [
      "from the bucket below's bound",
      [
        { upToMs: 5, count: 50 },
        { upToMs: 25, count: 50 },
      ],
      0.95,
      23,
    ],
    [
      "the largest real bound in the open-ended bucket",
      [
        { upToMs: 10_000, count: 90 },
        { upToMs: OPEN_BUCKET_MS, count: 10 },
      ],
      0.99,
      10_000,
    ],
    ["nothing without requests", [], 0.95, null],
  ])("quantile: %s", (_name, buckets, q, expected) => {
    expect(quantileOf(buckets, q)).toBe(expected);
  });

  it("counts whole requests, never more errors than requests, and no error rate without requests", () => {
    expect(
      slotFigures({
        requests: [{ labels: {}, value: 40.4 }],
        errors: [{ labels: {}, value: 41 }],
        latency: [le("0.005", 40), le("+Inf", 40)],
      }),
    ).toMatchObject({
      requests: 40,
      errors: 40,
      errorRate: 1,
      p50: 2.5,
      latency: [{ upToMs: 5, count: 40 }],
    });
    expect(slotFigures({ requests: [], errors: [], latency: [] })).toEqual({
      requests: 0,
      errors: 0,
      errorRate: null,
      p50: null,
      p95: null,
      p99: null,
      latency: [],
    });
  });
});
