/**
 * The release engine end to end, in-process: real API calls, the real reconciler, the real local
 * target (child processes and proxy) and the traffic generator. Short bakes come from the policy.
 */
import { DATABASE_HEALTH_SMOKE_TEST, DEFAULT_GATES, WEBSOCKET_SMOKE_TEST } from "../../server/releases/policy.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import type { DeploymentFigures } from "../../server/releases/figures.ts";
import type { Policy } from "../../server/releases/policy.ts";
import { slowerThan } from "../../server/releases/judge/latency.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { answer, refusal, type RouterOutputs } from "../helpers/panel-client.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let rm: TestUser;
let serviceId: string;
const envs: Record<string, string> = {};

const FAST: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 1,
  gates: { ...DEFAULT_GATES, minRequests: 5 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 1,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [DATABASE_HEALTH_SMOKE_TEST, WEBSOCKET_SMOKE_TEST],
};

async function release(version: string, settings: Record<string, unknown> = {}): Promise<string> {
  const r = await rm.client.releases.create.mutate({ serviceId, version, artifact: `demo:${version}`, settings });
  return r.id;
}

async function deploy(releaseId: string, environment: string): Promise<string> {
  const d = await rm.client.deployments.start.mutate({ releaseId, environmentId: envs[environment]! });
  return d.id;
}

type Detail = RouterOutputs["deployments"]["get"];
/** The weights a timeline event carries, and a deployment's figures: both JSON columns. */
const weightsOf = (e: Detail["events"][number]) => (e.data as { weights?: Record<string, number> } | null)?.weights;
const figuresOf = (d: Detail) => d.figures as DeploymentFigures | null;

const detail = (id: string) => rm.client.deployments.get.query({ id });

async function until(id: string, statuses: string[], timeoutMs = 60_000): Promise<Detail> {
  return waitFor(
    async () => {
      const d = await detail(id);
      return statuses.includes(d.status) ? d : undefined;
    },
    `deployment ${id} to become ${statuses.join(" or ")}`,
    timeoutMs,
  );
}

/** Until the deployment's first step bakes (it fails at once if the deployment ended instead). */
function untilBaking(id: string, what: string): Promise<Detail> {
  return waitFor(async () => {
    const d = await detail(id);
    if (["rolled_back", "failed"].includes(d.status))
      throw new Error(`deployment ended ${d.status}: ${d.statusDetail}`);
    return d.status === "shifting" && d.events.some((e) => e.kind === "step") ? d : undefined;
  }, what);
}

function expectGaplessTimeline(d: Detail) {
  expect(d.events.map((e) => e.seq)).toEqual(d.events.map((_, i) => i + 1));
}

beforeAll(async () => {
  // The traffic guard is off by default (ARCHITECTURE.md); this file tests it.
  t = await startTestPanel({ TRAFFIC_GUARD: "true" });
  rm = await t.createUser(["release_manager"], "Rel Manager");
  const service = await rm.client.services.create.mutate({ name: "Checkout API" });
  serviceId = service.id;
  const detailOfService = await rm.client.services.get.query({ id: serviceId });
  for (const env of detailOfService.environments) {
    envs[env.name] = env.id;
    await rm.client.environments.updatePolicy.mutate({ environmentId: env.id, policy: FAST });
    await rm.client.environments.setTrafficGenerator.mutate({ environmentId: env.id, enabled: true, rate: 60 });
  }
});

afterAll(() => t?.close());

describe("a good release", () => {
  it("goes live straight away where nothing is live yet", async () => {
    const id = await deploy(await release("1.0.0"), "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("succeeded");
    expect(d.events.filter((e) => e.kind === "step").map(weightsOf)).toEqual([
      { [d.targetSlot]: 100, [d.fromSlot]: 0 },
    ]);
    expectGaplessTimeline(d);
  });

  it("walks 10 → 50 → 100 with gates at every step, validates and succeeds; each step once", async () => {
    const releaseId = await release("1.1.0");
    const id = await deploy(releaseId, "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status, d.statusDetail ?? "").toBe("succeeded");
    const steps = d.events.filter((e) => e.kind === "step").map((e) => weightsOf(e)![d.targetSlot]);
    expect(steps).toEqual([10, 50, 100]);
    expectGaplessTimeline(d);
    expect(d.smokeResults.filter((r) => r.round === "pre_traffic").every((r) => r.ok)).toBe(true);
    expect(d.smokeResults.filter((r) => r.round === "full_traffic").every((r) => r.ok)).toBe(true);
    for (const step of [0, 1, 2]) {
      const gates = d.gateResults.filter((g) => g.stepIndex === step);
      expect(gates.map((g) => `${g.gate}:${g.outcome}`).sort(), `step ${step}`).toEqual([
        "error_rate:pass",
        "error_rate_ceiling:pass",
        "latency:pass",
        "latency_p95_ceiling:pass",
        "min_requests:pass",
      ]);
    }
    expect(d.figures).toMatchObject({
      durationSeconds: expect.any(Number),
      secondsWithoutSuccess: 0,
      breachToRollbackSeconds: null,
    });
    const env = await rm.client.services.overview.query();
    expect(env.services[0]!.environments.find((e) => e.name === "development")).toMatchObject({
      liveVersion: "1.1.0",
      liveSlot: d.targetSlot,
    });
    // The former live slot is scaled down after the (1 s) delay.
    await waitFor(
      async () =>
        (await t.prisma.localSlotProcess.findUnique({
          where: { environmentId_slot: { environmentId: envs.development!, slot: d.fromSlot } },
        })) === null,
      "the old slot to be scaled down",
    );
  });

  it("cannot skip the promotion order", async () => {
    const releaseId = (await t.prisma.release.findFirstOrThrow({ where: { version: "1.1.0" } })).id;
    const response = await refusal(rm.client.deployments.start.mutate({ releaseId, environmentId: envs.production! }));
    expect(response.status).toBe(412);
    expect(response.message).toBe("Release 1.1.0 has not succeeded in staging yet; promote it there first");
    expect(response.field).toBe("releaseId");
    expect(await t.prisma.deployment.count({ where: { environmentId: envs.production! } })).toBe(0);
  });
});

describe("a busy panel", () => {
  it("does not slow the traffic a healthy release is judged by: the event loop blocked for 2 s mid-bake, p95 stays at the service's own and nothing fails", async () => {
    // Something live to shift from (run on its own, this test finds development empty).
    if (!(await t.prisma.environment.findUniqueOrThrow({ where: { id: envs.development! } })).liveReleaseId) {
      expect(
        (await until(await deploy(await release("1.1.4"), "development"), ["succeeded", "rolled_back", "failed"]))
          .status,
      ).toBe("succeeded");
    }
    // Half the traffic on each slot while the panel is blocked: ~60 requests each in 2 s, so that "more
    // than 10" says the traffic flowed (at a 10 % step the new slot's ~12 left no margin on a busy machine).
    await rm.client.environments.updatePolicy.mutate({
      environmentId: envs.development!,
      policy: { ...FAST, steps: [50, 100], bakeSeconds: 4 },
    });
    const id = await deploy(await release("1.1.5"), "development");
    const baking = await untilBaking(id, "the first step to be baking");
    // The panel's own event loop (this process) is busy for 2 s: renders, fan-out, GC would do the same.
    const blockedFrom = Date.now();
    while (Date.now() - blockedFrom < 2000) {
      // busy
    }
    const blockedTo = Date.now();
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status, JSON.stringify(d.rollbackReason)).toBe("succeeded");
    const env = {
      id: envs.development!,
      serviceSlug: "checkout-api",
      name: "development",
      target: "local" as const,
      targetConfig: {},
    };
    const recorded = await t.panel.services.targets.local.metrics(env, {
      from: new Date(blockedFrom),
      to: new Date(blockedTo),
    });
    for (const slot of [baking.targetSlot, baking.fromSlot]) {
      expect(recorded.slots[slot].requests, `${slot} served traffic while the panel was blocked`).toBeGreaterThan(10);
      expect(recorded.slots[slot].errors, `${slot} failed no request`).toBe(0);
      expect(recorded.slots[slot].p95, `${slot} p95`).toBeLessThan(50);
    }
    await rm.client.environments.updatePolicy.mutate({ environmentId: envs.development!, policy: FAST });
  });
});

describe("a stalled process", () => {
  it("one pause of a good first release's process is one event, not a slow release: it goes live", async () => {
    // CI rolled back good first releases on "3 of 3 requests over 500 ms", all caught by one pause of a
    // loaded machine. Here the new release's process is stopped (SIGSTOP) for 1.2 s early in its bake:
    // every request in flight then takes over the 500 ms ceiling, in one moment.
    const service = await rm.client.services.create.mutate({ name: "Stall Check", environments: ["staging"] });
    const environmentId = (await rm.client.services.get.query({ id: service.id })).environments[0]!.id;
    await rm.client.environments.updatePolicy.mutate({
      environmentId,
      policy: { ...FAST, bakeSeconds: 8, gates: { ...FAST.gates, minRequests: 3 } },
    });
    await rm.client.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 20 });
    const releaseId = (
      await rm.client.releases.create.mutate({ serviceId: service.id, version: "1.0.0", artifact: "demo:1.0.0" })
    ).id;
    const id = (await rm.client.deployments.start.mutate({ releaseId, environmentId })).id;
    const baking = await untilBaking(id, "the release to take all traffic");
    const { pid } = await t.prisma.localSlotProcess.findUniqueOrThrow({
      where: { environmentId_slot: { environmentId, slot: baking.targetSlot } },
    });
    const stalledFrom = Date.now();
    process.kill(pid, "SIGSTOP");
    try {
      // The stall's length is the stimulus, not a wait for a condition.
      await new Promise((resolve) => setTimeout(resolve, 1200));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status, JSON.stringify(d.rollbackReason)).toBe("succeeded");
    // The stall did slow requests past the ceiling (otherwise this test would prove nothing).
    const recorded = await t.panel.services.targets.local.metrics(
      { id: environmentId, serviceSlug: "stall-check", name: "staging", target: "local", targetConfig: {} },
      { from: new Date(stalledFrom), to: new Date(Date.now()) },
    );
    const slow = slowerThan(recorded.slots[baking.targetSlot].latency ?? [], 500);
    expect(slow).toBeGreaterThanOrEqual(5);
  });
});

describe("a bad release", () => {
  it("with a 30% failure rate is rolled back automatically before 100%, naming the gate and its value", async () => {
    const id = await deploy(await release("1.2.0-bad", { failureRate: 0.3 }), "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("rolled_back");
    const failed = d.events.find((e) => e.kind === "gate_failed")!;
    expect(failed).toBeDefined();
    expect(d.rollbackReason).toMatchObject({
      kind: "gate",
      gate: expect.stringMatching(/error_rate/),
      threshold: expect.any(Number),
    });
    expect((d.rollbackReason as { observed: number }).observed).toBeGreaterThan(
      (d.rollbackReason as { threshold: number }).threshold,
    );
    // It says why, in a sentence with both slots' figures and the confidence reached.
    expect((d.rollbackReason as { detail: string }).detail).toMatch(
      new RegExp(`^${d.targetSlot} \\(new\\) fails \\d+(\\.\\d+)? % of requests .* sure (it|that) is`),
    );
    expect(d.figures).toMatchObject({
      onsetToRollbackSeconds: expect.any(Number),
      blastRadiusRequests: expect.any(Number),
    });
    expect(figuresOf(d)!.blastRadiusRequests).toBeGreaterThan(0);
    expect((d.rollbackReason as { weight: number }).weight).toBeLessThan(100);
    expect(d.gateResults.some((g) => g.outcome === "fail")).toBe(true);
    expect(figuresOf(d)?.breachToRollbackSeconds).toBeGreaterThanOrEqual(0);
    const restored = d.events.find((e) => e.kind === "traffic_restored")!;
    expect(weightsOf(restored)).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
    expectGaplessTimeline(d);
    const proxy = await t.prisma.localProxyState.findUniqueOrThrow({ where: { environmentId: envs.development! } });
    expect({ blue: proxy.blueWeight, green: proxy.greenWeight }).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
  });

  it("that fails half its requests loses its traffic while the panel is blocked: the data plane's guard moves it back to live", async () => {
    // Something live to shift from (run on its own, this test finds development empty).
    if (!(await t.prisma.environment.findUniqueOrThrow({ where: { id: envs.development! } })).liveReleaseId) {
      expect(
        (await until(await deploy(await release("1.2.0-good"), "development"), ["succeeded", "rolled_back", "failed"]))
          .status,
      ).toBe("succeeded");
    }
    // Three requests a second reach the new slot at 10 %: the guard needs a few of them.
    await rm.client.environments.setTrafficGenerator.mutate({
      environmentId: envs.development!,
      enabled: true,
      rate: 30,
    });
    const id = await deploy(await release("1.2.1-bad", { failureRate: 0.5 }), "development");
    const shifting = await waitFor(async () => {
      const d = await detail(id);
      if (["rolled_back", "failed"].includes(d.status))
        throw new Error(`deployment ended ${d.status} before its first step`);
      return d.status === "shifting" ? d : undefined;
    }, "the shifting phase to begin");
    // Block the moment the data plane sends the new slot its first requests, before the panel could judge any.
    const development = {
      id: envs.development!,
      serviceSlug: "checkout-api",
      name: "development",
      target: "local" as const,
      targetConfig: {},
    };
    await waitFor(
      async () => (await t.panel.services.targets.local.observe(development)).weights[shifting.targetSlot] > 0,
      "traffic on the new slot",
    );
    // The panel's event loop (this process) is busy for 8 s: it can neither judge nor move traffic meanwhile.
    const blockedFrom = Date.now();
    while (Date.now() - blockedFrom < 8000) {
      // busy
    }
    const blockedTo = Date.now();
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "error_rate_ceiling", weight: 10 });
    expect((d.rollbackReason as { detail: string }).detail).toMatch(
      new RegExp(
        `^${d.targetSlot} \\(new\\) fails .* so the traffic guard moved all traffic back to ${d.fromSlot} \\(live\\) at `,
      ),
    );
    // All traffic was back on live before the panel could have done anything: the guard did it, and the
    // deployment says when.
    expect(d.rollbackCompletedAt!.getTime()).toBeLessThan(blockedTo);
    expect(d.breachAt!.getTime()).toBe(d.rollbackCompletedAt!.getTime());
    expect(figuresOf(d)!.onsetToRollbackSeconds).not.toBeNull();
    await rm.client.environments.setTrafficGenerator.mutate({
      environmentId: envs.development!,
      enabled: true,
      rate: 60,
    });
  });

  it("that is slow (800 ms per request) is rolled back by the p95 latency gate at its first step", async () => {
    const id = await deploy(await release("1.3.0-slow", { latencyMs: 800 }), "development");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    expect(d.status).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: expect.stringMatching(/^latency/), weight: 10 });
    expect((d.rollbackReason as { observed: number }).observed).toBeGreaterThanOrEqual(800);
    expect((d.rollbackReason as { detail: string }).detail).toMatch(/sure/);
    const restored = d.events.find((e) => e.kind === "traffic_restored")!;
    expect(weightsOf(restored)).toEqual({ [d.fromSlot]: 100, [d.targetSlot]: 0 });
    expectGaplessTimeline(d);
  });

  it("that fails its smoke tests never gets traffic", async () => {
    await rm.client.environments.updatePolicy.mutate({
      environmentId: envs.staging!,
      policy: {
        ...FAST,
        smokeTests: [
          {
            kind: "http",
            name: "Teapot",
            method: "GET",
            path: "/api/v1/version",
            expectStatus: 418,
            maxStatus: 399,
            maxLatencyMs: 2000,
          },
        ],
      },
    });
    const releaseId = (await t.prisma.release.findFirstOrThrow({ where: { version: "1.0.0" } })).id;
    const id = await deploy(releaseId, "staging");
    const d = await until(id, ["succeeded", "rolled_back", "failed"]);
    // 1.0.0 is the first release in staging: the failure is before any traffic.
    expect(d.status).toBe("failed");
    expect(d.smokeResults).toEqual([expect.objectContaining({ name: "Teapot", ok: false, round: "pre_traffic" })]);
    expect(d.events.some((e) => e.kind === "step")).toBe(false);
    await rm.client.environments.updatePolicy.mutate({ environmentId: envs.staging!, policy: FAST });
  });
});

describe("commands", () => {
  it("a manual rollback during a bake puts 100% back on the live slot", async () => {
    await rm.client.environments.updatePolicy.mutate({
      environmentId: envs.development!,
      policy: { ...FAST, bakeSeconds: 600 },
    });
    const id = await deploy(await release("1.3.0"), "development");
    const baking = await waitFor(async () => {
      const d = await detail(id);
      return d.status === "shifting" && d.events.some((e) => e.kind === "step") ? d : undefined;
    }, "the first step to bake");
    await rm.client.deployments.rollback.mutate({
      deploymentId: id,
      expectedCommandVersion: baking.commandVersion,
      reason: "checking rollback",
    });
    const d = await until(id, ["rolled_back"]);
    expect(d.rollbackReason).toMatchObject({ kind: "manual", reason: "checking rollback" });
    expect(weightsOf(d.events.find((e) => e.kind === "traffic_restored")!)).toEqual({
      [d.fromSlot]: 100,
      [d.targetSlot]: 0,
    });
    expectGaplessTimeline(d);
  });

  it("two conflicting commands at once: exactly one wins, the other gets a 409 saying why", async () => {
    const id = await deploy(await release("1.4.0"), "development");
    const baking = await waitFor(async () => {
      const d = await detail(id);
      return d.status === "shifting" && d.events.some((e) => e.kind === "step") ? d : undefined;
    }, "the first step to bake");
    const [pause, rollback] = await Promise.all([
      answer(rm.client.deployments.pause.mutate({ deploymentId: id, expectedCommandVersion: baking.commandVersion })),
      answer(
        rm.client.deployments.rollback.mutate({ deploymentId: id, expectedCommandVersion: baking.commandVersion }),
      ),
    ]);
    expect([pause.status, rollback.status].sort()).toEqual([200, 409]);
    const loser = pause.status === 409 ? pause : rollback;
    expect(loser.message).toMatch(/changed|first/);
    // Clean up: make sure it ends.
    const d = await detail(id);
    if (d.status === "paused") await rm.client.deployments.rollback.mutate({ deploymentId: id });
    await until(id, ["rolled_back"]);
    await rm.client.environments.updatePolicy.mutate({ environmentId: envs.development!, policy: FAST });
  });

  it("pause stops the clock and resume carries on; promote now skips the bake", async () => {
    await rm.client.environments.updatePolicy.mutate({
      environmentId: envs.development!,
      policy: { ...FAST, bakeSeconds: 600, validationSeconds: 600 },
    });
    const id = await deploy(await release("1.5.0"), "development");
    await waitFor(async () => (await detail(id)).events.some((e) => e.kind === "step"), "the first step");
    await rm.client.deployments.pause.mutate({ deploymentId: id });
    expect((await detail(id)).status).toBe("paused");
    const conflict = await refusal(rm.client.deployments.pause.mutate({ deploymentId: id }));
    expect(conflict.status).toBe(409);
    expect(conflict.message).toBe("Cannot pause a deployment that is paused");
    await rm.client.deployments.resume.mutate({ deploymentId: id });
    // Each long bake (three steps) and the long validation ends only because of "promote now".
    const d = await waitFor(
      async () => {
        const current = await detail(id);
        if (current.status === "succeeded" || current.status === "rolled_back") return current;
        if (current.status === "shifting" || current.status === "validating") {
          const promoted = await answer(rm.client.deployments.promote.mutate({ deploymentId: id }));
          // The deployment may have moved on between the read and the command: that is a 409, and fine.
          if (promoted.status !== 200) expect(promoted.status).toBe(409);
        }
        return undefined;
      },
      "the deployment to be promoted through to the end",
      60_000,
    );
    expect(d.status).toBe("succeeded");
    expect(d.events.filter((e) => e.kind === "command_promote").length).toBeGreaterThanOrEqual(4);
    await rm.client.environments.updatePolicy.mutate({ environmentId: envs.development!, policy: FAST });
  });

  it("allows one active deployment per environment, even when two starts race", async () => {
    await rm.client.environments.updatePolicy.mutate({
      environmentId: envs.development!,
      policy: { ...FAST, bakeSeconds: 600 },
    });
    const [a, b] = [await release("1.6.0"), await release("1.6.1")];
    const results = await Promise.all([
      answer(rm.client.deployments.start.mutate({ releaseId: a, environmentId: envs.development! })),
      answer(rm.client.deployments.start.mutate({ releaseId: b, environmentId: envs.development! })),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)!.message).toMatch(/already has an active deployment/);
    const winner = results.find((r) => r.status === 200)!.data!.id;
    await rm.client.deployments.rollback.mutate({ deploymentId: winner });
    await until(winner, ["rolled_back"]);
    await rm.client.environments.updatePolicy.mutate({ environmentId: envs.development!, policy: FAST });
  });
});

describe("bad input is refused with the field named, and changes nothing", () => {
  it.each<[string, Partial<Policy>, string, RegExp]>([
    [
      "steps that do not rise",
      { steps: [50, 10, 100] },
      "policy.steps",
      /^Steps \(policy\): must rise from one step to the next$/,
    ],
    ["steps above 100", { steps: [10, 150] }, "policy.steps.1", /^Steps \(policy, item 2\): must not exceed 100/],
    ["no steps", { steps: [] }, "policy.steps", /^Steps \(policy\): must not be empty/],
    ["steps not ending at 100", { steps: [10, 50] }, "policy.steps", /^Steps \(policy\): must end at 100$/],
    [
      "an error-rate ceiling out of range",
      { gates: { ...FAST.gates, errorRate: { ...FAST.gates.errorRate, maxPercent: 250 } } },
      "policy.gates.errorRate.maxPercent",
      /^Maximum percent \(policy, gates, error rate\): must be at most 100 %$/,
    ],
    [
      "a confidence of 100 %",
      { gates: { ...FAST.gates, confidencePercent: 100 } },
      "policy.gates.confidencePercent",
      /^Confidence in percent \(policy, gates\): must be less than 100 %$/,
    ],
    [
      "a negative margin",
      { gates: { ...FAST.gates, latency: { ...FAST.gates.latency, marginPercent: -10 } } },
      "policy.gates.latency.marginPercent",
      /^Margin in percent \(policy, gates, latency\): must not be negative$/,
    ],
    [
      "a failure limit of 0",
      { gates: { ...FAST.gates, failureLimit: 0 } },
      "policy.gates.failureLimit",
      /^Failure limit \(policy, gates\): must be at least 1/,
    ],
    [
      "an empty number",
      { gates: { ...FAST.gates, minRequests: Number.NaN } },
      "policy.gates.minRequests",
      /^Minimum requests \(policy, gates\): is empty or not a number; enter a number$/,
    ],
    [
      "a negative bake",
      { bakeSeconds: -1 },
      "policy.bakeSeconds",
      /^Bake in seconds \(policy\): must be between 0 and 86400$/,
    ],
  ])("%s", async (_name, change, path, message) => {
    const before = await t.prisma.environment.findUniqueOrThrow({ where: { id: envs.production! } });
    const response = await refusal(
      rm.client.environments.updatePolicy.mutate({ environmentId: envs.production!, policy: { ...FAST, ...change } }),
    );
    expect(response.status).toBe(400);
    expect(response.message).toMatch(message);
    expect(response.field).toBe("policy");
    expect(Object.keys(response.fieldErrors ?? {})).toContain(path);
    expect((await t.prisma.environment.findUniqueOrThrow({ where: { id: envs.production! } })).policy).toEqual(
      before.policy,
    );
  });

  it("an unknown environment or release is a 404 naming it", async () => {
    const releaseId = (await t.prisma.release.findFirstOrThrow()).id;
    const unknownEnv = await refusal(
      rm.client.deployments.start.mutate({ releaseId, environmentId: "00000000-0000-4000-8000-000000000000" }),
    );
    expect(unknownEnv.status).toBe(404);
    expect(unknownEnv.message).toBe("Environment 00000000-0000-4000-8000-000000000000 was not found");
    const unknownRelease = await refusal(
      rm.client.deployments.start.mutate({
        releaseId: "00000000-0000-4000-8000-000000000000",
        environmentId: envs.development!,
      }),
    );
    expect(unknownRelease.status).toBe(404);
    const malformed = await refusal(
      rm.client.deployments.start.mutate({ releaseId: "nope", environmentId: envs.development! }),
    );
    expect(malformed.status).toBe(400);
    expect(malformed).toMatchObject({
      message: "Release: must be a release id",
      field: "releaseId",
      fieldErrors: { releaseId: "must be a release id" },
    });
  });

  it("leaves the audit chain intact through all of the above", async () => {
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
  });
});
