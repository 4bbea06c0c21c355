/**
 * The real reconciler driving the real ECS target, over an in-memory fake of ECS, ELBv2 and
 * CloudWatch behind aws-sdk-client-mock (nothing reaches AWS). A good release walks 10 → 50 → 100,
 * validates and succeeds (the former live service is scaled down after the delay); a bad one fails
 * its gate at 10% and is rolled back: traffic first, then the scale-down.
 *
 * CloudWatch has one-minute periods, so the reconciler and the fakes share a clock that runs 240×
 * faster than the wall clock: a minute of bake is a quarter of a second here.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import type { ModifyListenerCommandInput } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { startDeployment } from "../../server/releases/commands.ts";
import { type Policy, DEFAULT_GATES } from "../../server/releases/policy.ts";
import type { Reconciler } from "../../server/releases/reconciler.ts";
import { createEcsClients } from "../../server/targets/ecs/clients.ts";
import { validateEcsConfig } from "../../server/targets/ecs/config.ts";
import {
  FakeAws,
  mockAws,
  sampleEcsConfigInput,
  sampleTaskDefinition,
  TG_BLUE,
  TG_GREEN,
} from "../helpers/fake-aws.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { ecsImage as IMAGE, ecsReconciler, seedEcsEnvironment } from "../helpers/ecs-environment.ts";
import { waitFor } from "../helpers/wait.ts";

const SPEED = 240;
const t0 = Date.now();
const clock = () => new Date(t0 + (Date.now() - t0) * SPEED);

const POLICY: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 60,
  gates: {
    ...DEFAULT_GATES,
    minRequests: 20,
    errorRate: { marginPp: 1, maxPercent: 1 },
    latency: { ...DEFAULT_GATES.latency, maxP95Ms: 500 },
  },
  validationSeconds: 60,
  scaleDownDelaySeconds: 60,
  greenReadyTimeoutSeconds: 3600,
  smokeTests: [
    {
      kind: "http",
      name: "Health is 200",
      method: "GET",
      path: "/health",
      expectStatus: 200,
      maxStatus: 399,
      maxLatencyMs: 2000,
    },
  ],
};

let db: TestDatabase;
let reconciler: Reconciler;
let smoke: http.Server;
let fake: FakeAws;
let environmentId: string;
const releases: Record<string, string> = {};
const smokeHits: string[] = [];

beforeAll(async () => {
  smoke = http.createServer((req, res) => {
    smokeHits.push(req.url ?? "");
    res.writeHead(req.url === "/health" ? 200 : 404).end("ok");
  });
  await new Promise<void>((resolve) => smoke.listen(0, "127.0.0.1", resolve));
  const smokeUrl = `http://127.0.0.1:${(smoke.address() as AddressInfo).port}`;

  const targetConfig = sampleEcsConfigInput({
    smokeTestBaseUrls: { blue: smokeUrl, green: smokeUrl },
    steadyStateTimeoutSeconds: 7200,
    metricsDelaySeconds: 0,
    pollIntervalMs: 0,
    alarmNames: ["checkout-latency", "payments-queue-depth"],
  });
  const parsed = validateEcsConfig(targetConfig);
  if (!parsed.ok) throw new Error(parsed.error);
  const config = parsed.config;

  // AWS, in memory, behind the mocked clients.
  fake = new FakeAws(config, clock);
  const clients = createEcsClients({ region: config.region, retry: config.retry });
  mockAws(fake, clients);

  db = await openTestDatabase();
  const prisma = db.prisma;
  fake.behave(IMAGE("1.2.0-bad"), { errorRate: 0.2, p95Ms: 120 });
  // Its tasks answer nothing wrong themselves; they crash, and the load balancer answers 502 for them.
  fake.behave(IMAGE("1.3.0-crashy"), { errorRate: 0, p95Ms: 80, loadBalancerErrorRate: 0.2 });
  // One of its hosts fails the target group's health check in every period; what it answers is fine.
  fake.behave(IMAGE("1.5.0-sick-host"), { errorRate: 0, p95Ms: 80, unhealthyHosts: 1 });
  // Its tasks refuse connections: the load balancer cannot deliver a fifth of the requests to them.
  fake.behave(IMAGE("1.6.0-refusing"), { errorRate: 0, p95Ms: 80, connectionErrorRate: 0.2 });

  // 1.0.0 is live on blue (two tasks, all traffic); green is empty.
  const seeded = await seedEcsEnvironment(prisma, fake, {
    targetConfig,
    policy: POLICY,
    versions: ["1.0.0", "1.1.0", "1.2.0-bad", "1.3.0-crashy", "1.4.0", "1.5.0-sick-host", "1.6.0-refusing"],
    production: true,
  });
  Object.assign(releases, seeded.releases);
  environmentId = seeded.environmentId;
  fake.setAlarm("checkout-latency", "OK");
  fake.setAlarm("payments-queue-depth", "INSUFFICIENT_DATA");
  // Application Auto Scaling manages the live service.
  fake.seedScalableTarget("blue", 2, 10);

  const wired = ecsReconciler({ prisma, clients: () => clients, now: clock });
  reconciler = wired.reconciler;
  const registry = wired.registry;
  reconciler.start();
  startWith = async (version: string) => {
    const d = await startDeployment(
      prisma,
      systemActor(),
      { releaseId: releases[version]!, environmentId },
      { validateTarget: (kind, cfg) => registry.validateConfig(kind as "ecs", cfg) },
    );
    reconciler.kick(d.id);
    return d.id;
  };
});

afterAll(async () => {
  await reconciler?.stop();
  await db?.close();
  await new Promise<void>((resolve) => smoke?.close(() => resolve()));
});

let startWith: (version: string) => Promise<string>;

async function finished(id: string) {
  // Poll lightly: PGlite has one connection, which the reconciler needs.
  await waitFor(
    async () =>
      ["succeeded", "rolled_back", "failed", "aborted", "paused"].includes(
        (await db.prisma.deployment.findUniqueOrThrow({ where: { id }, select: { status: true } })).status,
      ),
    `deployment ${id} to finish`,
    25_000,
    200,
  );
  return db.prisma.deployment.findUniqueOrThrow({
    where: { id },
    include: { events: { orderBy: { seq: "asc" } }, gateResults: true },
  });
}

const writes = () =>
  fake.calls.filter((c) =>
    ["ecs:RegisterTaskDefinition", "ecs:UpdateService", "elasticloadbalancing:ModifyListener"].includes(c.action),
  );
const weightsOf = (input: unknown) => {
  const tgs = (input as ModifyListenerCommandInput).DefaultActions![0]!.ForwardConfig!.TargetGroups!;
  return {
    blue: tgs.find((t) => t.TargetGroupArn === TG_BLUE)!.Weight,
    green: tgs.find((t) => t.TargetGroupArn === TG_GREEN)!.Weight,
  };
};

describe("a deployment on ECS, reconciled", () => {
  it("walks a good release 10 → 50 → 100, validates, succeeds and scales the former live service down", async () => {
    const id = await startWith("1.1.0");
    const d = await finished(id);
    expect(d.status, `${d.statusDetail ?? ""} ${d.failureReason ?? ""}`).toBe("succeeded");
    expect(d.targetSlot).toBe("green");
    const steps = d.events
      .filter((e) => e.kind === "step")
      .map((e) => (e.data as { weights: Record<string, number> }).weights);
    expect(steps).toEqual([
      { green: 10, blue: 90 },
      { green: 50, blue: 50 },
      { green: 100, blue: 0 },
    ]);
    for (const step of [0, 1, 2])
      expect(d.gateResults.filter((g) => g.stepIndex === step).map((g) => g.outcome)).toEqual([
        "pass",
        "pass",
        "pass",
        "pass",
        "pass",
      ]);
    expect(smokeHits.filter((p) => p === "/health").length).toBeGreaterThanOrEqual(2);

    // AWS was asked for exactly this, in this order (then, maybe already, the former live service's scale-down).
    const all = writes();
    const w = all.slice(0, 5);
    expect(w.map((c) => c.action)).toEqual([
      "ecs:RegisterTaskDefinition",
      "ecs:UpdateService",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListener",
    ]);
    expect(all.slice(5).map((c) => c.input)).toEqual(
      all.length > 5 ? [{ cluster: "shop", service: "checkout-blue", desiredCount: 0 }] : [],
    );
    const registered = w[0]!.input as RegisterTaskDefinitionCommandInput;
    expect(registered.containerDefinitions![0]!.image).toBe(IMAGE("1.1.0"));
    expect(registered.containerDefinitions![0]!.secrets).toEqual(
      sampleTaskDefinition("checkout", "x").containerDefinitions![0]!.secrets,
    );
    expect(w[1]!.input).toMatchObject({ service: "checkout-green", desiredCount: 2 });
    expect(w.slice(2).map((c) => weightsOf(c.input))).toEqual([
      { blue: 90, green: 10 },
      { blue: 50, green: 50 },
      { blue: 0, green: 100 },
    ]);

    const env = await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } });
    expect(env).toMatchObject({ liveSlot: "green", liveReleaseId: releases["1.1.0"] });
    expect(fake.weights()).toEqual({ blue: 0, green: 100 });
    // The former live service goes to zero after the scale-down delay (housekeeping).
    await waitFor(() => fake.service("blue").desiredCount === 0, "blue to be scaled down", 15_000, 100);
    expect(fake.calls.filter((c) => c.action === "ecs:UpdateService").at(-1)!.input).toEqual({
      cluster: "shop",
      service: "checkout-blue",
      desiredCount: 0,
    });
    // Green took blue's auto-scaling bounds; blue's minimum went to 0 before its scale-down, and it stays down.
    expect(fake.scalableTarget("green")).toEqual({ min: 2, max: 10 });
    expect(fake.scalableTarget("blue")).toEqual({ min: 0, max: 10 });
  });

  it("rolls a bad release back at its first step: all traffic back on the live slot first, then the new one scaled down", async () => {
    await waitFor(
      async () =>
        (await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } })).scaleDownAt === null,
      "the scale-down to be recorded",
      15_000,
      200,
    );
    const before = fake.calls.length;
    const id = await startWith("1.2.0-bad");
    const d = await finished(id);
    expect(d.status, `${d.statusDetail ?? ""} ${d.failureReason ?? ""}`).toBe("rolled_back");
    expect(d.targetSlot).toBe("blue");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: expect.stringMatching(/^error_rate/), weight: 10 });
    expect(d.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["gate_failed", "traffic_restored", "rolled_back"]),
    );

    const w = fake.calls
      .slice(before)
      .filter((c) =>
        ["ecs:RegisterTaskDefinition", "ecs:UpdateService", "elasticloadbalancing:ModifyListener"].includes(c.action),
      );
    expect(w.map((c) => c.action)).toEqual([
      "ecs:RegisterTaskDefinition",
      "ecs:UpdateService",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListener",
      "ecs:UpdateService",
    ]);
    // Derived from the live (green) slot's revision, which runs 1.1.0.
    expect((w[0]!.input as RegisterTaskDefinitionCommandInput).containerDefinitions![0]!.image).toBe(
      IMAGE("1.2.0-bad"),
    );
    expect(w[1]!.input).toMatchObject({ service: "checkout-blue", desiredCount: 2 });
    expect(weightsOf(w[2]!.input)).toEqual({ blue: 10, green: 90 });
    // Traffic first …
    expect(weightsOf(w[3]!.input)).toEqual({ blue: 0, green: 100 });
    expect(
      (w[3]!.input as ModifyListenerCommandInput).DefaultActions![0]!.ForwardConfig!.TargetGroupStickinessConfig,
    ).toEqual({ Enabled: false });
    // … then the scale-down.
    expect(w[4]!.input).toEqual({ cluster: "shop", service: "checkout-blue", desiredCount: 0 });

    const env = await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } });
    expect(env).toMatchObject({ liveSlot: "green", liveReleaseId: releases["1.1.0"] });
    expect(fake.weights()).toEqual({ blue: 0, green: 100 });
    expect(fake.service("blue").desiredCount).toBe(0);
    // Blue was given green's bounds to run 1.2.0, and its minimum went back to 0 with the rollback.
    expect(fake.scalableTarget("blue")).toEqual({ min: 0, max: 10 });
    expect(fake.scalableTarget("green")).toEqual({ min: 2, max: 10 });
    expect(
      fake.calls.filter((c) => c.action === "application-autoscaling:RegisterScalableTarget").map((c) => c.input),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ResourceId: "service/shop/checkout-blue", MinCapacity: 2, MaxCapacity: 10 }),
      ]),
    );
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
  });

  it("rolls back a release whose failures only the load balancer sees (its own 5xx, attributed to the new slot), naming them", async () => {
    await waitFor(
      async () => (await db.prisma.deployment.count({ where: { activeEnvironmentId: { not: null } } })) === 0,
      "no active deployment",
      15_000,
      200,
    );
    const id = await startWith("1.3.0-crashy");
    const d = await finished(id);
    expect(d.status, `${d.statusDetail ?? ""} ${d.failureReason ?? ""}`).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "target_signals", weight: 10 });
    expect((d.rollbackReason as { detail: string }).detail).toMatch(
      /^the load balancer answered \d+ 5xx itself \(HTTPCode_ELB_5XX_Count\) while blue's share rose/,
    );
    const failed = d.gateResults.find((g) => g.gate === "target_signals");
    expect(failed).toMatchObject({ outcome: "fail", stepIndex: 0 });
    // Its own error figures were clean: the task-level gates alone would have passed it.
    expect(d.gateResults.find((g) => g.gate === "error_rate_absolute" && g.stepIndex === 0)?.observed ?? 0).toBe(0);
    expect(fake.weights()).toEqual({ blue: 0, green: 100 });
  });

  it("rolls back a release whose target group has an unhealthy host for a whole period, naming it", async () => {
    await waitFor(
      async () => (await db.prisma.deployment.count({ where: { activeEnvironmentId: { not: null } } })) === 0,
      "no active deployment",
      15_000,
      200,
    );
    const d = await finished(await startWith("1.5.0-sick-host"));
    expect(d.status, `${d.statusDetail ?? ""} ${d.failureReason ?? ""}`).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "target_signals", weight: 10 });
    expect((d.rollbackReason as { detail: string }).detail).toMatch(
      /^(blue|green)'s target group had an unhealthy host for a whole 60 s period from \d\d:\d\d UTC \(UnHealthyHostCount; \d+ periods? in this window\)$/,
    );
  });

  it("counts the connections the load balancer could not make to the new slot as its errors, and rolls it back", async () => {
    await waitFor(
      async () => (await db.prisma.deployment.count({ where: { activeEnvironmentId: { not: null } } })) === 0,
      "no active deployment",
      15_000,
      200,
    );
    const d = await finished(await startWith("1.6.0-refusing"));
    expect(d.status, `${d.statusDetail ?? ""} ${d.failureReason ?? ""}`).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", weight: 10 });
    // Its tasks answered no 5xx: every error the gate counted is a connection the load balancer could not make.
    const gate = (d.rollbackReason as { gate: string }).gate;
    expect(gate).toMatch(/^error_rate/);
    expect(d.gateResults.find((g) => g.gate === gate && g.stepIndex === 0)).toMatchObject({ outcome: "fail" });
  });

  it("rolls back when a listed CloudWatch alarm goes into ALARM during a step, naming the alarm", async () => {
    await waitFor(
      async () => (await db.prisma.deployment.count({ where: { activeEnvironmentId: { not: null } } })) === 0,
      "no active deployment",
      15_000,
      200,
    );
    const id = await startWith("1.4.0");
    await waitFor(
      async () => (await db.prisma.deployment.findUniqueOrThrow({ where: { id } })).stepReachedAt !== null,
      "the first step",
      25_000,
      100,
    );
    fake.setAlarm(
      "payments-queue-depth",
      "ALARM",
      "Threshold Crossed: 1 datapoint [1520.0] was greater than the threshold (1000.0).",
    );
    const d = await finished(id);
    expect(d.status, `${d.statusDetail ?? ""} ${d.failureReason ?? ""}`).toBe("rolled_back");
    expect(d.rollbackReason).toMatchObject({ kind: "gate", gate: "target_signals", weight: 10 });
    expect((d.rollbackReason as { detail: string }).detail).toMatch(
      /^alarm payments-queue-depth is in ALARM since \d\d:\d\d:\d\d UTC: Threshold Crossed: 1 datapoint \[1520\.0\] was greater than the threshold \(1000\.0\)\.$/,
    );
    const described = fake.calls.filter((c) => c.action === "cloudwatch:DescribeAlarms").map((c) => c.input);
    expect(described[0]).toEqual({
      AlarmNames: ["checkout-latency", "payments-queue-depth"],
      AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
      NextToken: undefined,
    });
    fake.setAlarm("payments-queue-depth", "OK");
  });
});
