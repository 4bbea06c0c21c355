/**
 * Delivery metrics over real deployments: releases created and deployed through the pipeline API on
 * the local target (a production change approved and its checklist completed, a bad release rolled
 * back by its gates, a fix, an emergency after the production change), then the Delivery report
 * and /metrics checked against the timestamps the engine recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal } from "../helpers/panel-client.ts";
import { createApiToken, setUpService } from "../helpers/pipeline.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let rm: TestUser;
let approver: TestUser;
let cto: TestUser;
let token: string;
let serviceId: string;
let envs: Record<string, string> = {};

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${json.error}`);
  return json;
}

async function deploy(version: string, environment: string): Promise<{ id: string; verdict: string }> {
  const started = await api<{ id: string }>("POST", "/api/v1/services/checkout/deployments", { version, environment });
  return waitFor(
    async () => {
      const d = await api<{ id: string; verdict: string }>("GET", `/api/v1/deployments/${started.id}`);
      return d.verdict !== "in_progress" ? d : undefined;
    },
    `${version} in ${environment} to end`,
    60_000,
  );
}

beforeAll(async () => {
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"], "Rel Manager");
  approver = await t.createUser(["approver"], "Ann Approver");
  cto = await t.createUser(["cto"], "Cora CTO");
  ({ serviceId, environments: envs } = await setUpService(t, rm, {
    name: "Checkout",
    slug: "checkout",
    environments: ["staging", "production"],
  }));
  token = (await createApiToken(rm, serviceId, "CI")).token;
});
afterAll(() => t?.close());

describe("delivery metrics over real deployments", () => {
  const commitTime = new Date(Date.now() - 2 * 3600_000);

  it("come from a production change, a rollback, its fix and an emergency", async () => {
    const first = await api<{ id: string }>("POST", "/api/v1/services/checkout/releases", {
      version: "1.0.0",
      artifact: "demo:1.0.0",
      commitSha: "abcdef1",
      commitTime: commitTime.toISOString(),
    });
    expect((await deploy("1.0.0", "staging")).verdict).toBe("succeeded");
    // Production: an approved change request and a complete checklist, as governance demands.
    const change = await rm.client.changes.create.mutate({
      releaseId: first.id,
      environmentId: envs.production!,
      type: "standard",
      title: "First release",
    });
    await approver.client.changes.approve.mutate({ id: change.id });
    const items = await rm.client.checklist.get.query({ releaseId: first.id, environmentId: envs.production! });
    for (const item of items) {
      if (item.kind === "manual")
        await rm.client.checklist.tick.mutate({
          releaseId: first.id,
          environmentId: envs.production!,
          key: item.key,
          done: true,
          note: "done",
        });
      else await api("POST", "/api/v1/services/checkout/releases/1.0.0/evidence", { item: item.key, status: "passed" });
    }
    expect((await deploy("1.0.0", "production")).verdict).toBe("succeeded");
    // A bad release is rolled back by its gates in staging; the fix goes live.
    await api("POST", "/api/v1/services/checkout/releases", {
      version: "1.1.0",
      artifact: "demo:1.1.0",
      settings: { failureRate: 0.3 },
    });
    expect((await deploy("1.1.0", "staging")).verdict).toBe("rolled_back");
    await api("POST", "/api/v1/services/checkout/releases", { version: "1.1.1", artifact: "demo:1.1.1" });
    expect((await deploy("1.1.1", "staging")).verdict).toBe("succeeded");
    // Production has an incident after the change: emergency maintenance is declared and authorised.
    const emergency = await rm.client.maintenance.requestEmergency.mutate({
      reason: "Checkout errors",
      impact: "Payments fail",
      plannedActions: "Hotfix",
      environmentId: envs.production!,
    });
    await cto.client.maintenance.authorizeEmergency.mutate({ id: emergency.id });
  });

  it("are reported per environment, per service and overall, with the previous period and slices for the trend", async () => {
    const report = await cto.client.delivery.metrics.query({ days: 7 });
    const deployments = await t.prisma.deployment.findMany({
      include: { release: true, environment: true },
      orderBy: { startedAt: "asc" },
    });
    const find = (version: string, env: string) =>
      deployments.find((d) => d.release.version === version && d.environment.name === env)!;
    const emergencyAt = (await t.prisma.emergencyRequest.findFirstOrThrow()).createdAt;
    const seconds = (to: Date, from: Date) => (to.getTime() - from.getTime()) / 1000;

    const service = report.services.find((s) => s.slug === "checkout")!;
    const production = service.environments.find((e) => e.name === "production")!.metrics.current;
    const staging = service.environments.find((e) => e.name === "staging")!.metrics.current;

    // Production: one change, live 2 h after its commit, failed by the emergency that followed it, not yet restored.
    const live = find("1.0.0", "production");
    expect(production).toMatchObject({
      deployments: 1,
      leadTimeSamples: 1,
      changes: 1,
      failedChanges: 1,
      changeFailureRate: 1,
      restored: 0,
      unrestored: 1,
      timeToRestoreSeconds: null,
    });
    expect(production.leadTimeSeconds).toBeCloseTo(seconds(live.finishedAt!, commitTime), 3);
    expect(production.deploymentsPerDay).toBeCloseTo(1 / 7, 6);
    // Staging: three changes, one rolled back, restored by the fix; the emergency was production's only.
    const bad = find("1.1.0", "staging");
    const fix = find("1.1.1", "staging");
    expect(bad.breachAt).not.toBeNull();
    expect(staging).toMatchObject({
      deployments: 2,
      changes: 3,
      failedChanges: 1,
      restored: 1,
      unrestored: 0,
      leadTimeSamples: 1,
    });
    expect(staging.changeFailureRate).toBeCloseTo(1 / 3, 6);
    expect(staging.timeToRestoreSeconds).toBeCloseTo(seconds(fix.finishedAt!, bad.breachAt!), 3);
    expect(staging.leadTimeSeconds).toBeCloseTo(seconds(find("1.0.0", "staging").finishedAt!, commitTime), 3);
    // The service and overall figures are its production environment's; the emergency is after every deployment.
    expect(service.metrics.current).toEqual(production);
    expect(report.overall.current).toEqual(production);
    expect(emergencyAt.getTime()).toBeGreaterThan(fix.finishedAt!.getTime());
    // The trend: nothing in the week before; today's slice holds everything.
    expect(report.overall.previous).toMatchObject({
      deployments: 0,
      changes: 0,
      changeFailureRate: null,
      leadTimeSeconds: null,
    });
    expect(report.overall.series).toHaveLength(7);
    expect(report.overall.series.at(-1)!.figures).toEqual({ ...production, deploymentsPerDay: 1 }); // one in a one-day slice
    expect(report.overall.series.slice(0, -1).every((s) => s.figures.deployments === 0)).toBe(true);
  });

  it("are exported in /metrics for Prometheus", async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const value = (name: string, labels: string) =>
      Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("greenlight_delivery_change_failure_ratio", 'service="checkout",environment="staging"')).toBeCloseTo(
      1 / 3,
      6,
    );
    expect(value("greenlight_delivery_change_failure_ratio", 'service="checkout",environment="production"')).toBe(1);
    expect(value("greenlight_delivery_change_failure_ratio", 'service="",environment=""')).toBe(1);
    expect(value("greenlight_delivery_deployments_per_day", 'service="checkout",environment="staging"')).toBeCloseTo(
      2 / 30,
      6,
    );
    expect(
      value("greenlight_delivery_time_to_restore_seconds", 'service="checkout",environment="staging"'),
    ).toBeGreaterThan(0);
    expect(value("greenlight_delivery_lead_time_seconds", 'service="checkout",environment=""')).toBeGreaterThan(7000);
    // No restore yet in production: no series rather than a made-up number.
    expect(text).not.toMatch(
      /^greenlight_delivery_time_to_restore_seconds\{service="checkout",environment="production"\}/m,
    );
  });

  it("are for the CTO and release managers", async () => {
    await rm.client.delivery.metrics.query({ days: 30 });
    expect((await refusal(approver.client.delivery.metrics.query({ days: 30 }))).status).toBe(403);
    // @ts-expect-error 12 is not a period the report offers: the type refuses it too
    const bad = await refusal(cto.client.delivery.metrics.query({ days: 12 }));
    expect(bad).toMatchObject({ status: 400, message: "Days: must be one of 7, 30, 90 days", field: "days" });
  });
});
