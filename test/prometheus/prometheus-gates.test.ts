/**
 * Prometheus as a metric source, against a real Prometheus server (Debian's binary, started here on an
 * OS-chosen port) scraping the demo service processes of real local-target environments: settings
 * saved only after a dry run (Prometheus's own error for a bad query), the token kept secret, releases
 * judged on Prometheus's figures by the same judge (healthy: live; failing or slow: rolled back), and
 * an unreachable Prometheus making the gates wait and then fail, never pass.
 */
import { spawn } from "node:child_process";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inheritedEnvironment } from "../../server/config.ts";
import type { Explanation } from "../../server/releases/judge/judge.ts";
import type { Policy } from "../../server/releases/policy.ts";
import { environmentRef } from "../../server/releases/reconciler.ts";
import { rollbackReason } from "../../server/releases/vocabulary.ts";
import { createEcsClients } from "../../server/targets/ecs/clients.ts";
import { EXAMPLE_ECS_CONFIG, validateEcsConfig } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import { createTargetRegistry } from "../../server/targets/registry.ts";
import { DEFAULT_QUERIES } from "../../server/targets/prometheus/config.ts";
import { useStaticAwsCredentials } from "../helpers/aws-env.ts";
import { FakeAws, mockAws, sampleEcsConfigInput } from "../helpers/fake-aws.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal, type RouterInputs, type RouterOutputs } from "../helpers/panel-client.ts";
import { FAST_POLICY } from "../helpers/pipeline.ts";
import { scrapeSlots, startPrometheus, startRelay, type Relay, type TestPrometheus } from "../helpers/prometheus.ts";
import { waitFor } from "../helpers/wait.ts";

/** Two steps, 1 s bakes, no smoke tests; 20 requests before a step may pass. */
const POLICY: Policy = { ...FAST_POLICY, steps: [50, 100], gates: { ...FAST_POLICY.gates, minRequests: 20 } };

let prometheus: TestPrometheus;
let t: TestPanel;
let admin: TestUser;
let rm: TestUser;
let stopScraping: () => void;
/** One single-environment service per scenario, so no promotion order stands between them. */
const services: Record<string, { serviceId: string; environmentId: string }> = {};

type Detail = RouterOutputs["deployments"]["get"];

/** The gate verdict a deployment was rolled back on, read with the engine's own schema (the column is JSON). */
function gateRollback(d: Detail) {
  const reason = rollbackReason.parse(d.rollbackReason);
  if (reason.kind !== "gate") throw new Error(`rolled back by ${reason.kind}, not by a gate`);
  return { ...reason, explanation: reason.explanation as Explanation };
}

async function createService(slug: string): Promise<void> {
  const serviceId = (await rm.client.services.create.mutate({ name: slug, slug, environments: ["staging"] })).id;
  const detail = await rm.client.services.get.query({ id: serviceId });
  const environmentId = detail.environments[0]!.id;
  await rm.client.environments.updatePolicy.mutate({ environmentId, policy: POLICY });
  await rm.client.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 60 });
  services[slug] = { serviceId, environmentId };
}

const setPrometheus = (
  slug: string,
  settings: Omit<RouterInputs["environments"]["setPrometheus"], "environmentId">,
  user: TestUser = admin,
) => user.client.environments.setPrometheus.mutate({ environmentId: services[slug]!.environmentId, ...settings });

async function deploy(slug: string, version: string, settings: Record<string, unknown> = {}): Promise<string> {
  const releaseId = (
    await rm.client.releases.create.mutate({
      serviceId: services[slug]!.serviceId,
      version,
      artifact: `demo:${version}`,
      settings,
    })
  ).id;
  return (await rm.client.deployments.start.mutate({ releaseId, environmentId: services[slug]!.environmentId })).id;
}

const detail = (id: string) => rm.client.deployments.get.query({ id });

function finished(id: string, timeoutMs = 90_000): Promise<Detail> {
  return waitFor(
    async () => {
      const d = await detail(id);
      return ["succeeded", "rolled_back", "failed", "aborted"].includes(d.status) ? d : undefined;
    },
    `deployment ${id} to finish`,
    timeoutMs,
  );
}

const auditText = async () =>
  JSON.stringify(await t.prisma.auditEvent.findMany({ select: { before: true, after: true } }));

beforeAll(async () => {
  [prometheus, t] = await Promise.all([startPrometheus(), startTestPanel()]);
  admin = await t.createUser(["admin"], "Ada Admin");
  rm = await t.createUser(["release_manager"], "Rel Manager");
  for (const slug of ["checkout", "outage", "recovery", "clock"]) await createService(slug);
  stopScraping = scrapeSlots(
    t,
    prometheus,
    Object.entries(services).map(([slug, s]) => ({ id: s.environmentId, service: slug, environment: "staging" })),
  );
});

afterAll(async () => {
  stopScraping?.();
  await t?.close();
  await prometheus?.close();
});

describe("saving an environment's Prometheus settings", () => {
  it("refuses a bad PromQL query with Prometheus's own error, after a dry run, and saves nothing", async () => {
    const bad = 'http_requests_total{service="{{service}}", slot="{{slot}}"';
    const response = await refusal(setPrometheus("checkout", { url: prometheus.url, requestsQuery: bad }));
    expect(response.status).toBe(400);
    expect(response.field).toBe("requestsQuery");
    // Prometheus's own words for the same query, asked directly.
    const own = await prometheus.query(
      `sum(increase(${bad.replace("{{service}}", "checkout").replace("{{slot}}", "blue")}[60000ms]))`,
    );
    expect(own.status).toBe("error");
    expect(response.message).toContain(own.error);
    expect(response.message).toMatch(
      /^The requests query does not run: Prometheus refused sum\(increase\(http_requests_total\{service="checkout", slot="blue"\[60000ms\]\)\): .*parse error/,
    );
    expect(await t.prisma.prometheusSource.count()).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { action: { startsWith: "environment.prometheus" } } })).toBe(0);
  });

  it("names the field in words for a template without {{slot}}, an unknown placeholder, credentials in the URL and a Prometheus it cannot reach; only administrators save", async () => {
    const cases: [Parameters<typeof setPrometheus>[1], string, RegExp][] = [
      [
        { url: prometheus.url, errorsQuery: 'http_requests_total{code=~"5.."}' },
        "errorsQuery",
        /^Errors query: must select one slot with \{\{slot\}\}/,
      ],
      [
        { url: prometheus.url, latencyQuery: 'x_bucket{slot="{{slot}}", v="{{version}}"}' },
        "latencyQuery",
        /^Latency query: uses \{\{version\}\}; the placeholders are/,
      ],
      [{ url: "http://user:secret@127.0.0.1:9" }, "url", /^URL: must not hold credentials/],
      [{ url: "ftp://prometheus" }, "url", /^URL: must start with http:\/\/ or https:\/\//],
      [
        { url: prometheus.url, outageLimitSeconds: 0 },
        "outageLimitSeconds",
        /^Outage limit in seconds: must be between 1 and 3600 seconds/,
      ],
    ];
    for (const [settings, field, message] of cases) {
      const response = await refusal(setPrometheus("checkout", settings));
      expect(response.status, field).toBe(400);
      expect(response.field).toBe(field);
      expect(response.message).toMatch(message);
    }
    const relay = await startRelay(prometheus.url);
    await relay.down();
    const unreachable = await refusal(setPrometheus("checkout", { url: relay.url }));
    expect(unreachable.status).toBe(400);
    expect(unreachable.message).toBe(
      `Check the Prometheus URL: could not reach Prometheus at ${relay.url}: ECONNREFUSED`,
    );
    expect(unreachable.field).toBe("url");
    const byReleaseManager = await refusal(setPrometheus("checkout", { url: prometheus.url }, rm));
    expect(byReleaseManager.status).toBe(403);
    expect(await t.prisma.prometheusSource.count()).toBe(0);
  });

  it("saves the conventional queries by default; the bearer token reaches Prometheus but is never returned, logged or audited; absent keeps it, null removes it", async () => {
    const relay = await startRelay(prometheus.url);
    const token = "gl-test-bearer-7f3a9c2e41d8";
    const saved = await setPrometheus("checkout", { url: `${relay.url}/`, bearerToken: token, outageLimitSeconds: 30 });
    expect(saved.settings).toMatchObject({
      configured: true,
      url: relay.url,
      hasBearerToken: true,
      ...DEFAULT_QUERIES,
      outageLimitSeconds: 30,
    });
    expect(Object.keys(saved.dryRun).sort()).toEqual(["errorsQuery", "latencyQuery", "requestsQuery"]);
    expect(relay.sent()).toContain(`authorization: Bearer ${token}`);

    const read = await rm.client.environments.prometheus.query({ environmentId: services.checkout!.environmentId });
    expect(read).toMatchObject({ hasBearerToken: true, url: relay.url });
    for (const text of [JSON.stringify(saved), JSON.stringify(read), await auditText(), t.logs.join("\n")])
      expect(text).not.toContain(token);
    const event = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "environment.prometheus_configured" },
      orderBy: { seq: "desc" },
    });
    expect(event).toMatchObject({
      environmentId: services.checkout!.environmentId,
      before: null,
      after: { url: relay.url, bearerToken: "set", bearerTokenChanged: true },
    });

    const kept = await setPrometheus("checkout", { url: relay.url });
    expect(kept.settings.hasBearerToken).toBe(true);
    expect(
      (
        await t.prisma.prometheusSource.findUniqueOrThrow({
          where: { environmentId: services.checkout!.environmentId },
        })
      ).bearerToken,
    ).toBe(token);
    // From here on the environment reads the Prometheus itself, without a token.
    const removed = await setPrometheus("checkout", { url: prometheus.url, bearerToken: null });
    expect(removed.settings).toMatchObject({ hasBearerToken: false, url: prometheus.url });
    const last = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "environment.prometheus_configured" },
      orderBy: { seq: "desc" },
    });
    expect(last).toMatchObject({
      before: { bearerToken: "set" },
      after: { bearerToken: "none", bearerTokenChanged: true },
    });
    await relay.down();
  });
});

describe("the demo service's request metrics", () => {
  it("count its own requests by method and status code, labelled with its slot and release, and not the panel's probes or Prometheus's scrapes", async () => {
    const demo = spawn(process.execPath, ["server/targets/local/demo-service.mjs"], {
      env: inheritedEnvironment({ PORT: "0", SLOT: "green", RELEASE_VERSION: "9.9.9" }),
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      let out = "";
      demo.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      const port = await waitFor(() => /GREENLIGHT_LISTENING (\d+)/.exec(out)?.[1], "the demo service to listen");
      const base = `http://127.0.0.1:${port}`;
      for (const path of ["/api/v1/version", "/api/v1/catalog", "/nope", "/health", "/metrics"])
        await (await fetch(`${base}${path}`)).text();
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain("# TYPE http_requests_total counter");
      expect(text).toContain('http_requests_total{slot="green",release="9.9.9",method="GET",code="200"} 2');
      expect(text).toContain('http_requests_total{slot="green",release="9.9.9",method="GET",code="404"} 1');
      expect(text).toContain("# TYPE http_request_duration_seconds histogram");
      expect(text).toContain(
        'http_request_duration_seconds_bucket{slot="green",release="9.9.9",method="GET",code="200",le="+Inf"} 2',
      );
      expect(text).toContain(
        'http_request_duration_seconds_count{slot="green",release="9.9.9",method="GET",code="200"} 2',
      );
      expect(text.match(/^http_requests_total\{/gm)).toHaveLength(2);
    } finally {
      demo.kill();
    }
  });
});

describe("gates judged on Prometheus's figures", () => {
  const source = () => `Prometheus at ${prometheus.url}`;

  it("a first release goes live on the figures Prometheus scraped from its slot", async () => {
    const d = await finished(await deploy("checkout", "1.0.0"));
    expect(d.status, d.statusDetail ?? "").toBe("succeeded");
    expect(d.gateResults.length).toBeGreaterThan(0);
    expect(d.gateResults.every((g) => g.explanation?.source === source())).toBe(true);
    expect(d.gateResults.find((g) => g.gate === "metrics_source")).toMatchObject({
      outcome: "pass",
      detail: `${source()} answered`,
    });
    // Prometheus holds the slot's series, labelled by the demo service (slot, release) and the scrape (service, environment).
    const series = await prometheus.query(
      `http_requests_total{service="checkout", environment="staging", slot="${d.targetSlot}", release="1.0.0", code="200"}`,
    );
    expect(series.data?.result.length).toBeGreaterThan(0);
  });

  it("a healthy release passes every step", async () => {
    const d = await finished(await deploy("checkout", "1.1.0"));
    expect(d.status, d.statusDetail ?? "").toBe("succeeded");
    for (const step of [0, 1, 2]) {
      const gates = d.gateResults.filter((g) => g.stepIndex === step);
      expect(gates.map((g) => `${g.gate}:${g.outcome}`).sort(), `step ${step}`).toEqual([
        "error_rate:pass",
        "error_rate_ceiling:pass",
        "latency:pass",
        "latency_p95_ceiling:pass",
        "metrics_source:pass",
        "min_requests:pass",
      ]);
      expect(gates.every((g) => g.explanation?.source === source())).toBe(true);
    }
    // The rank test ran on Prometheus's histogram buckets.
    const latency = d.gateResults.find((g) => g.gate === "latency" && g.stepIndex === 0)!;
    expect(latency.explanation?.test).toBe("Mann-Whitney U rank test against the live slot, margin taken out");
    expect(latency.explanation?.new.requests).toBeGreaterThanOrEqual(POLICY.gates.minRequests);
  });

  it("a release that fails requests is rolled back on Prometheus's error counts", async () => {
    const d = await finished(await deploy("checkout", "1.2.0", { failureRate: 0.5 }));
    expect(d.status, d.statusDetail ?? "").toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: expect.stringMatching(/^error_rate(_ceiling)?$/) });
    expect(gateRollback(d).detail).toMatch(/fails \d+(\.\d+)? % of requests \(\d+ of \d+\)/);
    expect(gateRollback(d).explanation.source).toBe(source());
  });

  it("a slow release is rolled back on Prometheus's latency buckets", async () => {
    const d = await finished(await deploy("checkout", "1.3.0", { latencyMs: 300 }));
    expect(d.status, d.statusDetail ?? "").toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "latency" });
    expect(gateRollback(d).detail).toMatch(
      /sure it is slower by more than 20 % \+ 25 ms \(Mann-Whitney over \d+ and \d+ requests\)/,
    );
    expect(gateRollback(d).explanation.source).toBe(source());
  });

  it("an ECS environment's gates read its Prometheus too, not CloudWatch", async () => {
    await createService("ecs-shop");
    const { environmentId } = services["ecs-shop"]!;
    await admin.client.targets.configure.mutate({ environmentId, config: EXAMPLE_ECS_CONFIG });
    // Its tasks are not here to scrape: the checkout slots stand in, selected by slot alone.
    await setPrometheus("ecs-shop", {
      url: prometheus.url,
      requestsQuery: 'http_requests_total{service="checkout", slot="{{slot}}"}',
    });
    const env = await t.prisma.environment.findUniqueOrThrow({
      where: { id: environmentId },
      include: { service: true },
    });
    expect(env.target).toBe("ecs");
    const to = new Date();
    const window = await t.panel.services.targets.metrics(environmentRef(env), {
      from: new Date(to.getTime() - 10_000),
      to,
    });
    expect(window).toMatchObject({ complete: true, source: source(), sourceStatus: { answered: true } });
    expect(window.slots.blue.requests + window.slots.green.requests).toBeGreaterThan(0);
  });
});

describe("an ECS environment judged on Prometheus", () => {
  // AWS answers in memory (aws-sdk-client-mock): no test calls AWS.
  useStaticAwsCredentials();

  it("still fails a step on its own listed alarm: Prometheus gives the figures, the target its signals", async () => {
    await createService("ecs-alarmed");
    const { environmentId } = services["ecs-alarmed"]!;
    const raw = sampleEcsConfigInput({ alarmNames: ["checkout-5xx"], metricsDelaySeconds: 0 });
    await admin.client.targets.configure.mutate({ environmentId, config: raw });
    await setPrometheus("ecs-alarmed", {
      url: prometheus.url,
      requestsQuery: 'http_requests_total{service="checkout", slot="{{slot}}"}',
    });
    const parsed = validateEcsConfig(raw);
    if (!parsed.ok) throw new Error(parsed.error);
    const fake = new FakeAws(parsed.config);
    const clients = createEcsClients({ region: parsed.config.region, retry: parsed.config.retry });
    mockAws(fake, clients);
    fake.setAlarm("checkout-5xx", "ALARM");
    const registry = createTargetRegistry({
      local: t.panel.services.targets.local,
      prisma: t.prisma,
      log: pino({ level: "silent" }),
      ecs: new EcsTarget({ clients: () => clients, log: pino({ level: "silent" }) }),
    });
    const env = await t.prisma.environment.findUniqueOrThrow({
      where: { id: environmentId },
      include: { service: true },
    });
    const to = new Date();
    const step = { from: new Date(to.getTime() - 10_000), to, newSlot: "green" as const };
    const judged = await registry.metrics(environmentRef(env), step);
    expect(judged).toMatchObject({ source: `Prometheus at ${prometheus.url}`, sourceStatus: { answered: true } });
    expect(judged.signals).toEqual([
      expect.objectContaining({ kind: "alarm", detail: expect.stringContaining("checkout-5xx") }),
    ]);
    fake.setAlarm("checkout-5xx", "OK");
    expect((await registry.metrics(environmentRef(env), step)).signals ?? []).toEqual([]);
  });
});

describe("an unreachable Prometheus", () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = await startRelay(prometheus.url);
  });
  afterAll(() => relay?.down().catch(() => {}));

  it("makes the gates wait with the error shown, never pass, and fail once past the limit", async () => {
    await setPrometheus("outage", { url: relay.url, outageLimitSeconds: 4 });
    await relay.down();
    const id = await deploy("outage", "1.0.0");
    const error = `could not reach Prometheus at ${relay.url}: ECONNREFUSED`;
    // Past the step's 1 s bake the deployment still waits, saying why.
    const waiting = await waitFor(
      async () => {
        const d = await detail(id);
        return ["succeeded", "rolled_back", "failed"].includes(d.status) || d.statusDetail?.includes(error)
          ? d
          : undefined;
      },
      "the gates to wait on the unreachable Prometheus",
      40_000,
    );
    expect(waiting.status, "the deployment waits rather than ends").toBe("shifting");
    expect(waiting.statusDetail).toMatch(
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+ has not answered for \d seconds?; the gates wait, and fail at 4 s: could not reach/,
    );
    expect((await t.prisma.deployment.findUniqueOrThrow({ where: { id } })).metricsOutageSince).toBeInstanceOf(Date);

    const d = await finished(id);
    expect(d.status).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "metrics_source" });
    expect(gateRollback(d).detail).toMatch(
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+ has not answered for \d+ seconds \(the limit is 4 s\), and the gates cannot pass without metrics: could not reach .*ECONNREFUSED$/,
    );
    // No gate ever passed while Prometheus was away.
    expect(d.gateResults.filter((g) => g.outcome === "pass")).toEqual([]);
  });

  it("only delays a release while it lasts less than the limit: once Prometheus answers again, the gates judge and the clock stops", async () => {
    await relay.up();
    await setPrometheus("recovery", { url: relay.url, outageLimitSeconds: 600 });
    await relay.down();
    const id = await deploy("recovery", "1.0.0");
    await waitFor(
      async () => (await detail(id)).statusDetail?.includes(`could not reach Prometheus at ${relay.url}`),
      "the gates to wait on the unreachable Prometheus",
      40_000,
    );
    expect((await t.prisma.deployment.findUniqueOrThrow({ where: { id } })).metricsOutageSince).toBeInstanceOf(Date);
    await relay.up();
    const d = await finished(id, 60_000);
    expect(d.status, d.statusDetail ?? "").toBe("succeeded");
    expect(d.gateResults.filter((g) => g.stepIndex === 0).map((g) => `${g.gate}:${g.outcome}`)).toContain(
      "metrics_source:pass",
    );
    expect((await t.prisma.deployment.findUniqueOrThrow({ where: { id } })).metricsOutageSince).toBeNull();
  });

  it("counts the outage from the deployment row, so a restarted panel does not start the clock again", async () => {
    await relay.up();
    await setPrometheus("clock", { url: relay.url, outageLimitSeconds: 600 });
    await relay.down();
    const id = await deploy("clock", "1.0.0");
    const since = await waitFor(
      async () => (await t.prisma.deployment.findUniqueOrThrow({ where: { id } })).metricsOutageSince,
      "the outage clock to start",
      60_000,
    );
    expect((await detail(id)).status).not.toBe("succeeded");
    // As if the outage had begun ten minutes before a restart: the clock is read from the row.
    await t.prisma.deployment.update({
      where: { id },
      data: { metricsOutageSince: new Date(since.getTime() - 600_000) },
    });
    const d = await finished(id, 30_000);
    expect(d.status).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "metrics_source" });
    expect(gateRollback(d).detail).toMatch(/has not answered for 6\d\d seconds \(the limit is 600 s\)/);
  });
});
