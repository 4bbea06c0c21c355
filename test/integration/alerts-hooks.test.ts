/**
 * Outside deployments: live alerts when an environment crosses its critical thresholds, and
 * availability over 30 days. During rollbacks: the administrators' rollback hooks.
 */
import { DATABASE_HEALTH_SMOKE_TEST, DEFAULT_GATES } from "../../server/releases/policy.ts";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../server/releases/policy.ts";
import { sameOrigin, startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal } from "../helpers/panel-client.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let rm: TestUser;
let admin: TestUser;
let environmentId: string;
let serviceId: string;
let webhook: http.Server;
const webhookBodies: unknown[] = [];
const webhookReceipts: { key: string | string[] | undefined; attemptsOnRecord: unknown[] }[] = [];

const POLICY: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 1,
  gates: {
    ...DEFAULT_GATES,
    minRequests: 5,
    errorRate: { marginPp: 0.1, maxPercent: 0.5 },
    latency: { ...DEFAULT_GATES.latency, maxP95Ms: 500 },
  },
  validationSeconds: 1,
  scaleDownDelaySeconds: 600,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [DATABASE_HEALTH_SMOKE_TEST],
};

async function deploy(version: string, settings: Record<string, unknown> = {}): Promise<string> {
  const release = await rm.client.releases.create.mutate({ serviceId, version, artifact: `demo:${version}`, settings });
  return (await rm.client.deployments.start.mutate({ releaseId: release.id, environmentId })).id;
}

const status = async (id: string) => (await rm.client.deployments.get.query({ id })).status;

beforeAll(async () => {
  webhook = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const parsed = JSON.parse(body) as { deploymentId: string };
      webhookBodies.push(parsed);
      // What the panel had on record when the request arrived: the attempt comes before the request.
      void t.prisma.deploymentEvent
        .findMany({ where: { deploymentId: parsed.deploymentId, kind: "hook_attempt" }, select: { data: true } })
        .then((attempts) =>
          webhookReceipts.push({ key: req.headers["idempotency-key"], attemptsOnRecord: attempts.map((a) => a.data) }),
        )
        .finally(() => res.end("ok"));
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"]);
  admin = await t.createUser(["admin"]);
  serviceId = (await rm.client.services.create.mutate({ name: "Alerting", environments: ["development"] })).id;
  environmentId = (await t.prisma.environment.findFirstOrThrow({ where: { serviceId } })).id;
  await rm.client.environments.updatePolicy.mutate({ environmentId, policy: POLICY });
  await rm.client.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 50 });
});

afterAll(async () => {
  await t?.close();
  webhook?.close();
});

describe("alerts outside deployments", () => {
  it("open when the live metrics cross a critical threshold, are pushed to the overview, and close when they recover", async () => {
    const first = await deploy("1.0.0", { latencyMs: 40 });
    await waitFor(async () => (await status(first)) === "succeeded", "the first release to go live");
    const socket = io(t.url, {
      transports: ["websocket"],
      reconnection: false,
      extraHeaders: { Cookie: rm.cookie, ...sameOrigin(t.url) },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on("connect", () => socket.emit("subscribe", ["overview"], () => resolve()));
        socket.on("connect_error", reject);
      });
      type Pushed = { metric: string; value: number; threshold: number; severity: string };
      const pushed = new Promise<Pushed>((resolve) =>
        socket.on("alert", (a: Pushed) => a.metric === "latency_p95" && resolve(a)),
      );
      // Tighten the threshold below what the live release does: the next seconds breach it.
      await rm.client.environments.updateAlertThresholds.mutate({
        environmentId,
        thresholds: { errorRatePercent: 5, p95Ms: 10 },
      });
      const alert = await pushed;
      expect(alert).toMatchObject({ metric: "latency_p95", severity: "critical", threshold: 10 });
      expect(alert.value).toBeGreaterThan(10);
      const stored = await t.prisma.alert.findFirstOrThrow({
        where: { environmentId, metric: "latency_p95", resolvedAt: null },
      });
      expect(stored).toMatchObject({ metric: "latency_p95", severity: "critical", threshold: 10 });
      const overview = await rm.client.services.overview.query();
      expect(overview.services[0]!.environments[0]!.alerts.map((a) => a.metric)).toContain("latency_p95");
      await rm.client.environments.updateAlertThresholds.mutate({
        environmentId,
        thresholds: { errorRatePercent: 5, p95Ms: 1500 },
      });
      await waitFor(
        async () => (await t.prisma.alert.findUniqueOrThrow({ where: { id: stored.id } })).resolvedAt !== null,
        "the alert to close",
        30_000,
      );
    } finally {
      socket.close();
    }
  });

  it("shows availability over 30 days (seconds with traffic that had a successful response) against the 99.9% target", async () => {
    await t.panel.services.metricsPipeline.flush();
    const availability = await rm.client.environments.availability.query({ environmentId });
    // Counted independently from the stored per-second samples. Before the first release went live the
    // generator's requests found no release to serve them: those seconds are stored as vacant and count
    // neither as up nor as down (there was nothing to measure).
    const seconds = await t.prisma.metricSample.groupBy({
      by: ["at"],
      where: { environmentId, vacant: false },
      _sum: { requests: true, errors: true },
    });
    const withTraffic = seconds.filter((s) => (s._sum.requests ?? 0) > 0);
    const served = withTraffic.filter((s) => (s._sum.requests ?? 0) - (s._sum.errors ?? 0) > 0);
    expect(availability.trafficSeconds).toBeGreaterThanOrEqual(withTraffic.length);
    expect(availability.percent).toBeCloseTo((served.length / withTraffic.length) * 100, 0);
    expect(availability.target).toBe(99.9);
  });
});

describe("rollback hooks", () => {
  it("are set by administrators only, and validated with the field named", async () => {
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/rollback`;
    const byReleaseManager = await refusal(
      rm.client.environments.setRollbackHooks.mutate({
        environmentId,
        hooks: [{ kind: "webhook", name: "Notify", url }],
      }),
    );
    expect(byReleaseManager.status).toBe(403);
    const bad = await refusal(
      admin.client.environments.setRollbackHooks.mutate({
        environmentId,
        hooks: [{ kind: "webhook", name: "Notify", url: "ftp://example" }],
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad).toMatchObject({
      message: "URL (hooks, item 1): must be an http:// or https:// URL",
      field: "hooks",
      fieldErrors: { "hooks.0.url": "must be an http:// or https:// URL" },
    });
    await admin.client.environments.setRollbackHooks.mutate({
      environmentId,
      hooks: [{ kind: "webhook", name: "Notify", url }],
    });
  });

  it("run after traffic is back on the live slot, and their outcome is on the timeline", async () => {
    await rm.client.environments.updatePolicy.mutate({ environmentId, policy: { ...POLICY, bakeSeconds: 600 } });
    const id = await deploy("2.0.0");
    await waitFor(
      async () => (await rm.client.deployments.get.query({ id })).events.some((e) => e.kind === "step"),
      "the first step",
    );
    await rm.client.deployments.rollback.mutate({ deploymentId: id, reason: "hook test" });
    await waitFor(async () => (await status(id)) === "rolled_back", "the rollback");
    const d = await rm.client.deployments.get.query({ id });
    const kinds = d.events.map((e) => e.kind);
    expect(kinds.indexOf("hook")).toBeGreaterThan(kinds.indexOf("traffic_restored"));
    expect(d.events.find((e) => e.kind === "hook")!.message).toMatch(
      /Rollback hook "Notify" succeeded: webhook answered 200/,
    );
    expect(webhookBodies).toEqual([
      expect.objectContaining({
        event: "deployment.rolled_back",
        deploymentId: id,
        release: "2.0.0",
        environment: "development",
      }),
    ]);
  });

  it("send an Idempotency-Key naming the deployment and the hook, and record each attempt before sending it", async () => {
    const { deploymentId } = webhookBodies[0] as { deploymentId: string };
    expect(webhookReceipts).toEqual([
      {
        key: `${deploymentId}/Notify`,
        attemptsOnRecord: [{ name: "Notify", kind: "webhook", key: `${deploymentId}/Notify`, attempt: 1 }],
      },
    ]);
    expect(webhookBodies[0]).toMatchObject({ idempotencyKey: `${deploymentId}/Notify`, attempt: 1 });
    const audited = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "deployment.rollback_hook_attempted", entityId: deploymentId },
    });
    expect(audited.after).toEqual({ hook: "Notify", key: `${deploymentId}/Notify`, attempt: 1 });
  });

  it("must have distinct names (a name is part of the key)", async () => {
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/rollback`;
    const twice = await refusal(
      admin.client.environments.setRollbackHooks.mutate({
        environmentId,
        hooks: [
          { kind: "webhook", name: "Notify", url },
          { kind: "webhook", name: "Notify", url },
        ],
      }),
    );
    expect(twice.status).toBe(400);
    expect(twice.message).toBe("Hooks: must not repeat a hook name");
    expect(twice.field).toBe("hooks");
  });
});
