/**
 * The release engine end to end, in-process: real API calls, the real reconciler, the real local
 * target (child processes and proxy) and the traffic generator. Short bakes come from the policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import type { Policy } from "../../server/releases/policy.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { trpcMutation, trpcQuery } from "../helpers/trpc.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let rm: TestUser;
let serviceId: string;
const envs: Record<string, string> = {};

const FAST: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 1,
  gates: { maxErrorRateIncreasePp: 0.1, maxErrorRatePercent: 0.5, maxP95Ms: 500, minRequests: 5 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 1,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [
    { kind: "http", name: "Database health is 200", method: "GET", path: "/api/v1/health/database", expectStatus: 200, maxStatus: 399, maxLatencyMs: 2000 },
    { kind: "websocket", name: "WebSocket connects", path: "/ws", connectWithinMs: 5000 },
  ],
};

async function ok<T>(promise: Promise<{ status: number; data?: T; error?: { message: string } }>): Promise<T> {
  const response = await promise;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.error?.message}`);
  return response.data as T;
}

async function release(version: string, settings: Record<string, unknown> = {}): Promise<string> {
  const r = await ok<{ id: string }>(trpcMutation(t.url, "releases.create", { serviceId, version, artifact: `demo:${version}`, settings }, rm.cookie));
  return r.id;
}

async function deploy(releaseId: string, environment: string): Promise<string> {
  const d = await ok<{ id: string }>(trpcMutation(t.url, "deployments.start", { releaseId, environmentId: envs[environment] }, rm.cookie));
  return d.id;
}

type Detail = {
  status: string;
  stepIndex: number;
  commandVersion: number;
  statusDetail: string | null;
  events: { seq: number; kind: string; message: string; data: Record<string, unknown> | null }[];
  gateResults: { gate: string; outcome: string; observed: number | null; threshold: number; stepIndex: number }[];
  smokeResults: { round: string; ok: boolean; name: string }[];
  figures: Record<string, number | null> | null;
  rollbackReason: Record<string, unknown> | null;
  breachAt: Date | null;
  rollbackCompletedAt: Date | null;
  targetSlot: "blue" | "green";
  fromSlot: "blue" | "green";
};

const detail = (id: string) => ok<Detail>(trpcQuery(t.url, "deployments.get", { id }, rm.cookie));

async function until(id: string, statuses: string[], timeoutMs = 60_000): Promise<Detail> {
  return waitFor(async () => {
    const d = await detail(id);
    return statuses.includes(d.status) ? d : undefined;
  }, `deployment ${id} to become ${statuses.join(" or ")}`, timeoutMs);
}

function expectGaplessTimeline(d: Detail) {
  expect(d.events.map((e) => e.seq)).toEqual(d.events.map((_, i) => i + 1));
}

beforeAll(async () => {
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"], "Rel Manager");
  const service = await ok<{ id: string }>(trpcMutation(t.url, "services.create", { name: "Checkout API" }, rm.cookie));
  serviceId = service.id;
  const detailOfService = await ok<{ environments: { id: string; name: string }[] }>(trpcQuery(t.url, "services.get", { id: serviceId }, rm.cookie));
  for (const env of detailOfService.environments) {
    envs[env.name] = env.id;
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: env.id, policy: FAST }, rm.cookie));
    await ok(trpcMutation(t.url, "environments.setTrafficGenerator", { environmentId: env.id, enabled: true, rate: 60 }, rm.cookie));
  }
});

afterAll(() => t?.close());

describe("a good release", () => {
  it("goes live straight away where nothing is live yet", async () => {
    const id = await deploy(await release("1.0.0"), "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("succeeded");
    expect(d.events.filter((e) => e.kind === "step").map((e) => e.data?.weights)).toEqual([{ [d.targetSlot]: 100, [d.fromSlot]: 0 }]);
    expectGaplessTimeline(d);
  });

  it("walks 10 → 50 → 100 with gates at every step, validates and succeeds; each step once", async () => {
    const releaseId = await release("1.1.0");
    const id = await deploy(releaseId, "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status, d.statusDetail ?? "").toBe("succeeded");
    const steps = d.events.filter((e) => e.kind === "step").map((e) => (e.data?.weights as Record<string, number>)[d.targetSlot]);
    expect(steps).toEqual([10, 50, 100]);
    expectGaplessTimeline(d);
    expect(d.smokeResults.filter((r) => r.round === "pre_traffic").every((r) => r.ok)).toBe(true);
    expect(d.smokeResults.filter((r) => r.round === "full_traffic").every((r) => r.ok)).toBe(true);
    for (const step of [0, 1, 2]) {
      const gates = d.gateResults.filter((g) => g.stepIndex === step);
      expect(gates.map((g) => g.outcome), `step ${step}`).toEqual(["pass", "pass", "pass", "pass"]);
    }
    expect(d.figures).toMatchObject({ durationSeconds: expect.any(Number), secondsWithoutSuccess: 0, breachToRollbackSeconds: null });
    const env = await ok<{ environments: { name: string; liveVersion: string; liveSlot: string }[] }[]>(trpcQuery(t.url, "services.overview", undefined, rm.cookie));
    expect(env[0]!.environments.find((e) => e.name === "development")).toMatchObject({ liveVersion: "1.1.0", liveSlot: d.targetSlot });
    // The former live slot is scaled down after the (1 s) delay.
    await waitFor(async () => (await t.prisma.localSlotProcess.findUnique({ where: { environmentId_slot: { environmentId: envs.development!, slot: d.fromSlot } } })) === null, "the old slot to be scaled down");
  });

  it("cannot skip the promotion order", async () => {
    const releaseId = (await t.prisma.release.findFirstOrThrow({ where: { version: "1.1.0" } })).id;
    const response = await trpcMutation(t.url, "deployments.start", { releaseId, environmentId: envs.production }, rm.cookie);
    expect(response.status).toBe(412);
    expect(response.error?.message).toBe("releaseId: 1.1.0 has not succeeded in staging yet; promote it there first");
    expect(await t.prisma.deployment.count({ where: { environmentId: envs.production } })).toBe(0);
  });
});

describe("a bad release", () => {
  it("with a 30% failure rate is rolled back automatically before 100%, naming the gate and its value", async () => {
    const id = await deploy(await release("1.2.0-bad", { failureRate: 0.3 }), "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("rolled_back");
    const failed = d.events.find((e) => e.kind === "gate_failed")!;
    expect(failed).toBeDefined();
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: expect.stringMatching(/error_rate/), threshold: expect.any(Number) });
    expect((d.rollbackReason as { observed: number }).observed).toBeGreaterThan((d.rollbackReason as { threshold: number }).threshold);
    expect((d.rollbackReason as { weight: number }).weight).toBeLessThan(100);
    expect(d.gateResults.some((g) => g.outcome === "fail")).toBe(true);
    expect(d.figures?.breachToRollbackSeconds).toBeGreaterThanOrEqual(0);
    const restored = d.events.find((e) => e.kind === "traffic_restored")!;
    expect(restored.data?.weights).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
    expectGaplessTimeline(d);
    const proxy = await t.prisma.localProxyState.findUniqueOrThrow({ where: { environmentId: envs.development! } });
    expect({ blue: proxy.blueWeight, green: proxy.greenWeight }).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
  });

  it("that is slow (800 ms per request) is rolled back by the p95 latency gate at its first step", async () => {
    const id = await deploy(await release("1.3.0-slow", { latencyMs: 800 }), "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "latency_p95", threshold: 500, weight: 10 });
    expect((d.rollbackReason as { observed: number }).observed).toBeGreaterThanOrEqual(800);
    const restored = d.events.find((e) => e.kind === "traffic_restored")!;
    expect(restored.data?.weights).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
    expectGaplessTimeline(d);
  });

  it("that fails its smoke tests never gets traffic", async () => {
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.staging, policy: { ...FAST, smokeTests: [{ kind: "http", name: "Teapot", method: "GET", path: "/api/v1/version", expectStatus: 418, maxStatus: 399, maxLatencyMs: 2000 }] } }, rm.cookie));
    const releaseId = (await t.prisma.release.findFirstOrThrow({ where: { version: "1.0.0" } })).id;
    const id = await deploy(releaseId, "staging");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    // 1.0.0 is the first release in staging: the failure is before any traffic.
    expect(d.status).toBe("failed");
    expect(d.smokeResults).toEqual([expect.objectContaining({ name: "Teapot", ok: false, round: "pre_traffic" })]);
    expect(d.events.some((e) => e.kind === "step")).toBe(false);
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.staging, policy: FAST }, rm.cookie));
  });
});

describe("commands", () => {
  it("a manual rollback during a bake puts 100% back on the live slot", async () => {
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.development, policy: { ...FAST, bakeSeconds: 600 } }, rm.cookie));
    const id = await deploy(await release("1.3.0"), "development");
    const baking = await waitFor(async () => {
      const d = await detail(id);
      return d.status === "shifting" && d.events.some((e) => e.kind === "step") ? d : undefined;
    }, "the first step to bake");
    const rolled = await trpcMutation<{ status: string }>(t.url, "deployments.rollback", { deploymentId: id, expectedCommandVersion: baking.commandVersion, reason: "checking rollback" }, rm.cookie);
    expect(rolled.status).toBe(200);
    const d = await until(id, ["rolled_back"]);
    expect(d.rollbackReason).toMatchObject({ kind: "manual", reason: "checking rollback" });
    expect(d.events.find((e) => e.kind === "traffic_restored")!.data?.weights).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
    expectGaplessTimeline(d);
  });

  it("two conflicting commands at once: exactly one wins, the other gets a 409 saying why", async () => {
    const id = await deploy(await release("1.4.0"), "development");
    const baking = await waitFor(async () => {
      const d = await detail(id);
      return d.status === "shifting" && d.events.some((e) => e.kind === "step") ? d : undefined;
    }, "the first step to bake");
    const [pause, rollback] = await Promise.all([
      trpcMutation(t.url, "deployments.pause", { deploymentId: id, expectedCommandVersion: baking.commandVersion }, rm.cookie),
      trpcMutation(t.url, "deployments.rollback", { deploymentId: id, expectedCommandVersion: baking.commandVersion }, rm.cookie),
    ]);
    expect([pause.status, rollback.status].sort()).toEqual([200, 409]);
    const loser = pause.status === 409 ? pause : rollback;
    expect(loser.error?.message).toMatch(/changed|first/);
    // Clean up: make sure it ends.
    const d = await detail(id);
    if (d.status === "paused") await ok(trpcMutation(t.url, "deployments.rollback", { deploymentId: id }, rm.cookie));
    await until(id, ["rolled_back"]);
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.development, policy: FAST }, rm.cookie));
  });

  it("pause stops the clock and resume carries on; promote now skips the bake", async () => {
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.development, policy: { ...FAST, bakeSeconds: 600, validationSeconds: 600 } }, rm.cookie));
    const id = await deploy(await release("1.5.0"), "development");
    await waitFor(async () => (await detail(id)).events.some((e) => e.kind === "step"), "the first step");
    await ok(trpcMutation(t.url, "deployments.pause", { deploymentId: id }, rm.cookie));
    expect((await detail(id)).status).toBe("paused");
    const conflict = await trpcMutation(t.url, "deployments.pause", { deploymentId: id }, rm.cookie);
    expect(conflict.status).toBe(409);
    expect(conflict.error?.message).toBe("Cannot pause a deployment that is paused");
    await ok(trpcMutation(t.url, "deployments.resume", { deploymentId: id }, rm.cookie));
    // Each long bake (three steps) and the long validation ends only because of "promote now".
    const d = await waitFor(async () => {
      const current = await detail(id);
      if (current.status === "succeeded" || current.status === "rolled_back") return current;
      if (current.status === "shifting" || current.status === "validating") {
        const promoted = await trpcMutation(t.url, "deployments.promote", { deploymentId: id }, rm.cookie);
        // The deployment may have moved on between the read and the command: that is a 409, and fine.
        if (promoted.status !== 200) expect(promoted.status).toBe(409);
      }
      return undefined;
    }, "the deployment to be promoted through to the end", 60_000);
    expect(d.status).toBe("succeeded");
    expect(d.events.filter((e) => e.kind === "command_promote").length).toBeGreaterThanOrEqual(4);
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.development, policy: FAST }, rm.cookie));
  });

  it("allows one active deployment per environment, even when two starts race", async () => {
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.development, policy: { ...FAST, bakeSeconds: 600 } }, rm.cookie));
    const [a, b] = [await release("1.6.0"), await release("1.6.1")];
    const results = await Promise.all([
      trpcMutation<{ id: string }>(t.url, "deployments.start", { releaseId: a, environmentId: envs.development }, rm.cookie),
      trpcMutation<{ id: string }>(t.url, "deployments.start", { releaseId: b, environmentId: envs.development }, rm.cookie),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)!.error?.message).toMatch(/already has an active deployment/);
    const winner = results.find((r) => r.status === 200)!.data!.id;
    await ok(trpcMutation(t.url, "deployments.rollback", { deploymentId: winner }, rm.cookie));
    await until(winner, ["rolled_back"]);
    await ok(trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.development, policy: FAST }, rm.cookie));
  });
});

describe("bad input is refused with the field named, and changes nothing", () => {
  it.each<[string, Partial<Policy>, RegExp]>([
    ["steps that do not rise", { steps: [50, 10, 100] }, /^policy\.steps: must rise from one step to the next$/],
    ["steps above 100", { steps: [10, 150] }, /^policy\.steps\.1: must not exceed 100/],
    ["no steps", { steps: [] }, /^policy\.steps: must not be empty/],
    ["steps not ending at 100", { steps: [10, 50] }, /^policy\.steps: must end at 100$/],
    ["an error-rate threshold out of range", { gates: { ...FAST.gates, maxErrorRatePercent: 250 } }, /^policy\.gates\.maxErrorRatePercent: must be between 0 and 100$/],
    ["a negative bake", { bakeSeconds: -1 }, /^policy\.bakeSeconds: must be between 0 and 86400$/],
  ])("%s", async (_name, change, message) => {
    const before = await t.prisma.environment.findUniqueOrThrow({ where: { id: envs.production! } });
    const response = await trpcMutation(t.url, "environments.updatePolicy", { environmentId: envs.production, policy: { ...FAST, ...change } }, rm.cookie);
    expect(response.status).toBe(400);
    expect(response.error?.message).toMatch(message);
    expect((await t.prisma.environment.findUniqueOrThrow({ where: { id: envs.production! } })).policy).toEqual(before.policy);
  });

  it("an unknown environment or release is a 404 naming it", async () => {
    const releaseId = (await t.prisma.release.findFirstOrThrow()).id;
    const unknownEnv = await trpcMutation(t.url, "deployments.start", { releaseId, environmentId: "00000000-0000-4000-8000-000000000000" }, rm.cookie);
    expect(unknownEnv.status).toBe(404);
    expect(unknownEnv.error?.message).toBe("Environment 00000000-0000-4000-8000-000000000000 was not found");
    const unknownRelease = await trpcMutation(t.url, "deployments.start", { releaseId: "00000000-0000-4000-8000-000000000000", environmentId: envs.development }, rm.cookie);
    expect(unknownRelease.status).toBe(404);
    const malformed = await trpcMutation(t.url, "deployments.start", { releaseId: "nope", environmentId: envs.development }, rm.cookie);
    expect(malformed.status).toBe(400);
    expect(malformed.error?.message).toBe("releaseId: must be a release id");
  });

  it("leaves the audit chain intact through all of the above", async () => {
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });
});
