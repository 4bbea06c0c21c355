/**
 * The AWS clients as built for the ECS target, with the SDK's real middleware stack (serialisation,
 * signing, the standard retry strategy, deserialisation) and a request handler that answers from
 * memory — or a local HTTP server for the endpoint checks. Nothing reaches AWS. Backoff delays are
 * made tiny by the retry settings, as an environment's configuration may.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { DescribeScalableTargetsCommand } from "@aws-sdk/client-application-auto-scaling";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { DescribeListenersCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { HttpResponse } from "@smithy/core/protocols";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { useStaticAwsCredentials } from "../helpers/aws-env.ts";
import { startSilentServer, type SilentServer } from "../helpers/silent-server.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  backoffDelay,
  createEcsClients,
  describeUnanswered,
  destroyEcsClients,
  withSignal,
  type EcsClientOptions,
} from "../../server/targets/ecs/clients.ts";
import type { RetrySettings } from "../../server/targets/ecs/config.ts";

const TINY: RetrySettings = {
  maxAttempts: 4,
  baseDelayMs: 1,
  maxDelayMs: 2,
  requestTimeoutMs: 1000,
  connectionTimeoutMs: 1000,
};
// The default chain finds static keys first: no profile or instance role is consulted.
useStaticAwsCredentials();

type Answer = { status: number; body: unknown } | Error;

/** A request handler that answers each attempt from a script (the last answer repeats). */
function scripted(answers: Answer[]) {
  const seen: { attempt: string; target: string }[] = [];
  const handler = {
    handle: async (request: { headers: Record<string, string> }) => {
      seen.push({ attempt: request.headers["amz-sdk-request"] ?? "", target: request.headers["x-amz-target"] ?? "" });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      const body = Buffer.from(JSON.stringify(answer.body));
      return {
        response: new HttpResponse({
          statusCode: answer.status,
          headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": `req-${seen.length}` },
          body: Readable.from([body]),
        }),
      };
    },
  };
  return { handler, seen };
}

const throttling: Answer = { status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } };
const unavailable: Answer = { status: 503, body: { __type: "ServerException", message: "Service Unavailable" } };
const ok: Answer = {
  status: 200,
  body: { services: [{ serviceName: "checkout-green", desiredCount: 2, runningCount: 2 }], failures: [] },
};

function ecsWith(answers: Answer[], retry: RetrySettings = TINY) {
  const script = scripted(answers);
  const clients = createEcsClients({
    region: "eu-west-1",
    retry,
    requestHandler: script.handler as EcsClientOptions["requestHandler"],
  });
  return { ecs: clients.ecs, seen: script.seen };
}

const describeGreen = () => new DescribeServicesCommand({ cluster: "shop", services: ["checkout-green"] });

describe("the standard retry strategy, as configured", () => {
  it("retries ThrottlingException twice and then succeeds", async () => {
    const { ecs, seen } = ecsWith([throttling, throttling, ok]);
    const out = await ecs.send(describeGreen());
    expect(out.services?.[0]).toMatchObject({ serviceName: "checkout-green", desiredCount: 2 });
    expect(out.$metadata.attempts).toBe(3);
    expect(seen.map((s) => s.attempt)).toEqual(["attempt=1; max=4", "attempt=2; max=4", "attempt=3; max=4"]);
    expect(seen[0]!.target).toBe("AmazonEC2ContainerServiceV20141113.DescribeServices");
  });

  it("retries 5xx answers and timeouts", async () => {
    const timeout = Object.assign(new Error("Connection timed out after 1000 ms"), { name: "TimeoutError" });
    const { ecs, seen } = ecsWith([unavailable, timeout, ok]);
    const out = await ecs.send(describeGreen());
    expect(out.$metadata.attempts).toBe(3);
    expect(seen).toHaveLength(3);
  });

  it("gives up after maxAttempts and lets the error propagate, with AWS's error name", async () => {
    const { ecs, seen } = ecsWith([throttling]);
    const error = await ecs
      .send(describeGreen())
      .catch((e: unknown) => e as Error & { $metadata: { attempts: number } });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "ThrottlingException", message: "Rate exceeded" });
    expect(error.$metadata.attempts).toBe(4);
    expect(seen).toHaveLength(4);
  });

  it("does not retry a client error (a validation error or a missing permission will not fix itself)", async () => {
    const { ecs, seen } = ecsWith([
      { status: 400, body: { __type: "InvalidParameterException", message: "desiredCount must be >= 0" } },
      ok,
    ]);
    await expect(
      ecs.send(new UpdateServiceCommand({ cluster: "shop", service: "checkout-green", desiredCount: -1 })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
    expect(seen).toHaveLength(1);
  });

  it("spaces attempts by full-jitter exponential backoff, capped", () => {
    const settings = { baseDelayMs: 200, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, settings, () => 0.999999))).toEqual([
      199, 399, 799, 1599, 3199, 4999, 4999,
    ]);
    expect(backoffDelay(3, settings, () => 0)).toBe(0);
  });
});

describe("the endpoint", () => {
  let server: http.Server;
  let url: string;
  const received: { service: string; path: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += String(chunk)));
      req.on("end", () => {
        const target = String(req.headers["x-amz-target"] ?? "");
        if (target.startsWith("AmazonEC2ContainerService")) {
          received.push({ service: "ecs", path: req.url ?? "" });
          res
            .writeHead(200, { "content-type": "application/x-amz-json-1.1" })
            .end(JSON.stringify({ services: [], failures: [] }));
        } else if (target.startsWith("AnyScaleFrontendService")) {
          received.push({ service: "application-autoscaling", path: req.url ?? "" });
          res
            .writeHead(200, { "content-type": "application/x-amz-json-1.1" })
            .end(JSON.stringify({ ScalableTargets: [] }));
        } else if (target.startsWith("GraniteServiceVersion20100801")) {
          received.push({ service: "cloudwatch", path: req.url ?? "" });
          res
            .writeHead(200, { "content-type": "application/x-amz-json-1.0" })
            .end(JSON.stringify({ MetricDataResults: [], Messages: [] }));
        } else if (body.includes("Action=DescribeListeners")) {
          received.push({ service: "elasticloadbalancing", path: req.url ?? "" });
          res
            .writeHead(200, { "content-type": "text/xml" })
            .end(
              '<DescribeListenersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeListenersResult><Listeners/></DescribeListenersResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeListenersResponse>',
            );
        } else {
          received.push({ service: `unknown ${target}`, path: req.url ?? "" });
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    received.length = 0;
    delete process.env.AWS_ENDPOINT_URL;
  });

  async function callEach(options: Partial<EcsClientOptions> = {}) {
    const clients = createEcsClients({ region: "eu-west-1", retry: { ...TINY, maxAttempts: 1 }, ...options });
    await clients.ecs.send(new DescribeServicesCommand({ cluster: "shop", services: ["checkout-blue"] }));
    await clients.elb.send(
      new DescribeListenersCommand({
        ListenerArns: [
          "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop-alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
        ],
      }),
    );
    await clients.cloudwatch.send(
      new GetMetricDataCommand({ MetricDataQueries: [], StartTime: new Date(0), EndTime: new Date(60_000) }),
    );
    await clients.autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" }));
    return received.map((r) => r.service);
  }

  it("AWS_ENDPOINT_URL is honoured by every client (the installed SDK reads it itself)", async () => {
    process.env.AWS_ENDPOINT_URL = url;
    expect(await callEach()).toEqual(["ecs", "elasticloadbalancing", "cloudwatch", "application-autoscaling"]);
  });

  it("an explicit endpoint is honoured by every client", async () => {
    expect(await callEach({ endpoint: url })).toEqual([
      "ecs",
      "elasticloadbalancing",
      "cloudwatch",
      "application-autoscaling",
    ]);
  });
});

describe("an endpoint that accepts the connection and never answers (a real socket)", () => {
  let silent: SilentServer;
  let url: string;

  beforeAll(async () => {
    silent = await startSilentServer();
    url = silent.url;
  });
  afterAll(() => silent.close());

  it("each attempt ends at requestTimeoutMs and the call fails naming the call and the endpoint", async () => {
    const before = silent.connections();
    const clients = createEcsClients({
      region: "eu-west-1",
      retry: { ...TINY, maxAttempts: 2, requestTimeoutMs: 300 },
      endpoint: url,
    });
    try {
      const error = await clients.ecs.send(describeGreen()).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({
        name: "TimeoutError",
        message: `AWS did not answer ecs:DescribeServices at ${url.slice("http://".length)} within 300 ms (2 attempts)`,
      });
      expect(silent.connections() - before).toBe(2);
    } finally {
      destroyEcsClients(clients);
    }
  });

  it("an aborted signal stops the attempt in flight at once, and the call says it was stopped", async () => {
    const clients = createEcsClients({
      region: "eu-west-1",
      retry: { ...TINY, maxAttempts: 5, requestTimeoutMs: 60_000 },
      endpoint: url,
    });
    const controller = new AbortController();
    try {
      const before = silent.connections();
      const pending = withSignal(clients, controller.signal)
        .elb.send(new DescribeListenersCommand({ ListenerArns: [] }))
        .catch((e: unknown) => e as Error);
      await waitFor(() => silent.connections() > before, "the call to reach the endpoint");
      controller.abort(new Error("the pass reached its 30 s deadline"));
      expect(await pending).toMatchObject({
        name: "AbortError",
        message: `elasticloadbalancing:DescribeListeners at ${url.slice("http://".length)} was stopped before AWS answered`,
      });
    } finally {
      destroyEcsClients(clients);
    }
  });
});

describe("describeUnanswered: the SDK's own words for an unanswered call, made to name it", () => {
  const context = { call: "ecs:DescribeServices", host: "ecs.eu-west-1.amazonaws.com", requestTimeoutMs: 10_000 };
  const err = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error("sdk words"), { name, ...extra });
  it.each([
    [err("AbortError"), "ecs:DescribeServices at ecs.eu-west-1.amazonaws.com was stopped before AWS answered"],
    [
      err("TimeoutError", { $metadata: { attempts: 5 } }),
      "AWS did not answer ecs:DescribeServices at ecs.eu-west-1.amazonaws.com within 10000 ms (5 attempts)",
    ],
    [err("TimeoutError"), "AWS did not answer ecs:DescribeServices at ecs.eu-west-1.amazonaws.com within 10000 ms"],
    [
      err("Error", { code: "ECONNREFUSED", $metadata: { attempts: 3 } }),
      "AWS could not be reached for ecs:DescribeServices at ecs.eu-west-1.amazonaws.com (3 attempts): ECONNREFUSED",
    ],
    [err("ThrottlingException"), null],
    [err("AccessDeniedException"), null],
  ])("%s → %s", (error, message) => {
    expect(describeUnanswered(error, context)?.message ?? null).toBe(message);
  });
});
