/**
 * Outside deployments: live alerts when an environment crosses its critical thresholds, and
 * availability over 30 days. During rollbacks: the administrators' rollback hooks.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../server/releases/policy.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { trpcMutation, trpcQuery } from "../helpers/trpc.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let rm: TestUser;
let admin: TestUser;
let environmentId: string;
let serviceId: string;
let webhook: http.Server;
const webhookBodies: unknown[] = [];

const POLICY: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 1,
  gates: { maxErrorRateIncreasePp: 0.1, maxErrorRatePercent: 0.5, maxP95Ms: 500, minRequests: 5 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 600,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [{ kind: "http", name: "Database health is 200", method: "GET", path: "/api/v1/health/database", expectStatus: 200, maxStatus: 399, maxLatencyMs: 2000 }],
};

async function ok<T>(promise: Promise<{ status: number; data?: T; error?: { message: string } }>): Promise<T> {
  const response = await promise;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.error?.message}`);
  return response.data as T;
}

async function deploy(version: string, settings: Record<string, unknown> = {}): Promise<string> {
  const release = await ok<{ id: string }>(trpcMutation(t.url, "releases.create", { serviceId, version, artifact: `demo:${version}`, settings }, rm.cookie));
  return (await ok<{ id: string }>(trpcMutation(t.url, "deployments.start", { releaseId: release.id, environmentId }, rm.cookie))).id;
}

const status = async (id: string) => (await ok<{ status: string }>(trpcQuery(t.url, "deployments.get", { id }, rm.cookie))).status;

beforeAll(async () => {
  webhook = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      webhookBodies.push(JSON.parse(body));
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"]);
  admin = await t.createUser(["admin"]);
  serviceId = (await ok<{ id: string }>(trpcMutation(t.url, "services.create", { name: "Alerting", environments: ["development"] }, rm.cookie))).id;
  environmentId = (await t.prisma.environment.findFirstOrThrow({ where: { serviceId } })).id;
  await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId, policy: POLICY }, rm.cookie));
  await ok(trpcMutation(t.url, "environments.setTrafficGenerator", { environmentId, enabled: true, rate: 50 }, rm.cookie));
});

afterAll(async () => {
  await t?.close();
  webhook?.close();
});

describe("alerts outside deployments", () => {
  it("open when the live metrics cross a critical threshold, are pushed to the overview, and close when they recover", async () => {
    const first = await deploy("1.0.0", { latencyMs: 40 });
    await waitFor(async () => (await status(first)) === "succeeded", "the first release to go live");
    const socket = io(t.url, { transports: ["websocket"], reconnection: false, extraHeaders: { Cookie: rm.cookie } });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on("connect", () => socket.emit("subscribe", ["overview"], () => resolve()));
        socket.on("connect_error", reject);
      });
      type Pushed = { metric: string; value: number; threshold: number; severity: string };
      const pushed = new Promise<Pushed>((resolve) => socket.on("alert", (a: Pushed) => a.metric === "latency_p95" && resolve(a)));
      // Tighten the threshold below what the live release does: the next seconds breach it.
      await ok(trpcMutation(t.url, "environments.updateAlertThresholds", { environmentId, thresholds: { errorRatePercent: 5, p95Ms: 10 } }, rm.cookie));
      const alert = await pushed;
      expect(alert).toMatchObject({ metric: "latency_p95", severity: "critical", threshold: 10 });
      expect(alert.value).toBeGreaterThan(10);
      const stored = await t.prisma.alert.findFirstOrThrow({ where: { environmentId, metric: "latency_p95", resolvedAt: null } });
      expect(stored).toMatchObject({ metric: "latency_p95", severity: "critical", threshold: 10 });
      const overview = await ok<{ environments: { alerts: { metric: string }[] }[] }[]>(trpcQuery(t.url, "services.overview", undefined, rm.cookie));
      expect(overview[0]!.environments[0]!.alerts.map((a) => a.metric)).toContain("latency_p95");
      await ok(trpcMutation(t.url, "environments.updateAlertThresholds", { environmentId, thresholds: { errorRatePercent: 5, p95Ms: 1500 } }, rm.cookie));
      await waitFor(async () => (await t.prisma.alert.findUniqueOrThrow({ where: { id: stored.id } })).resolvedAt !== null, "the alert to close", 30_000);
    } finally {
      socket.close();
    }
  });

  it("shows availability over 30 days (seconds with traffic that had a successful response) against the 99.9% target", async () => {
    await t.panel.services.metricsPipeline.flush();
    const availability = await ok<{ percent: number; trafficSeconds: number; target: number }>(trpcQuery(t.url, "environments.availability", { environmentId }, rm.cookie));
    // Counted independently from the stored per-second samples. (Before the first release went
    // live, the generator's requests found nothing to serve them: those seconds count as down.)
    const seconds = await t.prisma.metricSample.groupBy({ by: ["at"], where: { environmentId }, _sum: { requests: true, errors: true } });
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
    const byReleaseManager = await trpcMutation(t.url, "environments.setRollbackHooks", { environmentId, hooks: [{ kind: "webhook", name: "Notify", url }] }, rm.cookie);
    expect(byReleaseManager.status).toBe(403);
    const bad = await trpcMutation(t.url, "environments.setRollbackHooks", { environmentId, hooks: [{ kind: "webhook", name: "Notify", url: "ftp://example" }] }, admin.cookie);
    expect(bad.status).toBe(400);
    expect(bad.error?.message).toBe("hooks.0.url: must be an http:// or https:// URL");
    await ok(trpcMutation(t.url, "environments.setRollbackHooks", { environmentId, hooks: [{ kind: "webhook", name: "Notify", url }] }, admin.cookie));
  });

  it("run after traffic is back on the live slot, and their outcome is on the timeline", async () => {
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId, policy: { ...POLICY, bakeSeconds: 600 } }, rm.cookie));
    const id = await deploy("2.0.0");
    await waitFor(async () => (await ok<{ events: { kind: string }[] }>(trpcQuery(t.url, "deployments.get", { id }, rm.cookie))).events.some((e) => e.kind === "step"), "the first step");
    await ok(trpcMutation(t.url, "deployments.rollback", { deploymentId: id, reason: "hook test" }, rm.cookie));
    await waitFor(async () => (await status(id)) === "rolled_back", "the rollback");
    const d = await ok<{ events: { kind: string; message: string }[] }>(trpcQuery(t.url, "deployments.get", { id }, rm.cookie));
    const kinds = d.events.map((e) => e.kind);
    expect(kinds.indexOf("hook")).toBeGreaterThan(kinds.indexOf("traffic_restored"));
    expect(d.events.find((e) => e.kind === "hook")!.message).toMatch(/Rollback hook "Notify" succeeded: webhook answered 200/);
    expect(webhookBodies).toEqual([expect.objectContaining({ event: "deployment.rolled_back", deploymentId: id, release: "2.0.0", environment: "development" })]);
  });
});
