/**
 * The ECS target over mocked AWS clients (aws-sdk-client-mock; nothing reaches AWS): the calls each
 * step makes and their arguments, idempotency (a second pass at the same state writes nothing),
 * read-back checks, the steady-state mapping with AWS's reasons, CloudWatch's late data, and how a
 * half-applied step is noticed and converged by the next pass.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSServiceException,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
} from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2ServiceException,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { evaluateGates } from "../../server/releases/gates.ts";
import { decide, type DeploymentSnapshot } from "../../server/releases/plan.ts";
import { defaultPolicy } from "../../server/releases/policy.ts";
import type { EnvironmentRef, Observed, Weights } from "../../server/targets/driver.ts";
import { createEcsClients, type EcsClients } from "../../server/targets/ecs/clients.ts";
import { RELEASE_ID_TAG, validateEcsConfig, type EcsConfig } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import { FakeAws, mockAws, sampleTaskDefinition, LISTENER, RULE, TG_BLUE, TG_GREEN } from "../helpers/fake-aws.ts";
import { planEcsDeployment } from "../../server/targets/ecs/plan.ts";
import { verifyEcsConfigAgainstAws } from "../../server/targets/ecs/verify.ts";

const TEST_LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop-alb/50dc6c495c0c9188/0467ef3c8400ae65";
const NOW = new Date("2026-11-24T12:05:10Z");

const R1 = { id: "11111111-1111-4111-8111-111111111111", version: "1.0.0", artifact: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:1.0.0", settings: {} };
const R2 = { id: "22222222-2222-4222-8222-222222222222", version: "1.1.0", artifact: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:1.1.0", settings: {} };

interface Harness {
  config: EcsConfig;
  env: EnvironmentRef;
  clients: EcsClients;
  target: EcsTarget;
  ecs: AwsClientStub<EcsClients["ecs"]>;
  elb: AwsClientStub<EcsClients["elb"]>;
  cw: AwsClientStub<EcsClients["cloudwatch"]>;
  fake: FakeAws;
  writes(): string[];
}

function harness(overrides: Record<string, unknown> = {}): Harness {
  const raw = {
    region: "eu-west-1",
    cluster: "shop",
    services: { blue: "checkout-blue", green: "checkout-green" },
    listenerArn: LISTENER,
    targetGroups: { blue: TG_BLUE, green: TG_GREEN },
    containerName: "app",
    smokeTestBaseUrls: { blue: "https://blue.checkout.test", green: "https://green.checkout.test" },
    pollIntervalMs: 0,
    ...overrides,
  };
  const result = validateEcsConfig(raw);
  if (!result.ok) throw new Error(result.error);
  const config = result.config;
  const clients = createEcsClients({ region: config.region, retry: config.retry });
  const fake = new FakeAws(config, () => NOW);
  const { ecs, elb, cw } = mockAws(fake, clients);
  const target = new EcsTarget({ clients: () => clients, now: () => NOW });
  const env: EnvironmentRef = { id: "env-1", serviceSlug: "checkout", name: "production", target: "ecs", targetConfig: raw };
  const WRITE = ["ecs:RegisterTaskDefinition", "ecs:UpdateService", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"];
  return { config, env, clients, target, ecs, elb, cw, fake, writes: () => fake.calls.filter((c) => WRITE.includes(c.action)).map((c) => c.action) };
}

/** Blue live with R1 (2 tasks, 100%), green empty: the state before a deployment. */
function seedLiveBlue(h: Harness, route = h.config.route.arn) {
  const td = h.fake.seedTaskDefinition(sampleTaskDefinition("checkout", R1.artifact), [
    { key: RELEASE_ID_TAG, value: R1.id },
    { key: "team", value: "payments" },
  ]);
  h.fake.seedService("blue", td, 2);
  h.fake.seedService("green", td, 0);
  h.fake.seedRoute(route, { blue: 100, green: 0 });
  return td;
}

function snapshot(over: Partial<DeploymentSnapshot> = {}): DeploymentSnapshot {
  return {
    id: "d1",
    status: "shifting",
    releaseId: R2.id,
    releaseVersion: R2.version,
    fromReleaseId: R1.id,
    targetSlot: "green",
    fromSlot: "blue",
    policy: { ...defaultPolicy(true), greenReadyTimeoutSeconds: 300 },
    stepIndex: 0,
    stepReachedAt: null,
    phaseStartedAt: new Date(NOW.getTime() - 10_000),
    skipBake: false,
    smokeAttempt: 1,
    baseline: null,
    breachAt: null,
    rollbackCompletedAt: null,
    rollbackHooksRanAt: null,
    outcome: null,
    hasRollbackHooks: false,
    ...over,
  };
}

const pass = (d: DeploymentSnapshot, observed: Observed) => decide(d, { observed, gates: null, metrics: null, now: NOW });

let h: Harness;
beforeEach(() => {
  h = harness();
});

describe("observe", () => {
  it("reads both services, their task definitions' release tags, the target groups' health and the listener's weights", async () => {
    seedLiveBlue(h);
    const observed = await h.target.observe(h.env);
    expect(observed.weights).toEqual({ blue: 100, green: 0 });
    expect(observed.slots.blue).toEqual({ slot: "blue", releaseId: R1.id, desired: 2, running: 2, pending: 0, healthy: 2, rollout: "steady", detail: null });
    expect(observed.slots.green).toEqual({ slot: "green", releaseId: null, desired: 0, running: 0, pending: 0, healthy: 0, rollout: "stopped", detail: null });
    expect(h.ecs.commandCalls(DescribeServicesCommand)[0]!.args[0].input).toEqual({ cluster: "shop", services: ["checkout-blue", "checkout-green"] });
    expect(h.ecs.commandCalls(DescribeTaskDefinitionCommand)[0]!.args[0].input).toMatchObject({ include: ["TAGS"] });
    expect(h.elb.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input.TargetGroupArn).sort()).toEqual([TG_GREEN, TG_BLUE].sort());
    expect(h.elb.commandCalls(DescribeListenersCommand)[0]!.args[0].input).toEqual({ ListenerArns: [LISTENER] });
  });

  it("reads AWS on every pass (weights changed behind the panel's back are seen); a tagged task definition is described once", async () => {
    seedLiveBlue(h);
    await h.target.observe(h.env);
    expect(h.ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1); // both slots run it: one call
    h.fake.seedRoute(LISTENER, { blue: 70, green: 30 });
    const second = await h.target.observe(h.env);
    expect(second.weights).toEqual({ blue: 70, green: 30 });
    expect(h.ecs.commandCalls(DescribeServicesCommand)).toHaveLength(2);
    expect(h.elb.commandCalls(DescribeListenersCommand)).toHaveLength(2);
    expect(h.elb.commandCalls(DescribeTargetHealthCommand)).toHaveLength(4);
    expect(h.ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
  });

  it("reads the weights of a listener rule with DescribeRules", async () => {
    const r = harness({ listenerArn: undefined, listenerRuleArn: RULE });
    seedLiveBlue(r, RULE);
    r.fake.seedRoute(RULE, { blue: 3, green: 1 });
    expect((await r.target.observe(r.env)).weights).toEqual({ blue: 75, green: 25 });
    expect(r.elb.commandCalls(DescribeRulesCommand)[0]!.args[0].input).toEqual({ RuleArns: [RULE] });
    expect(r.elb.commandCalls(DescribeListenersCommand)).toHaveLength(0);
  });

  it("says in_progress, with AWS's words, until the rollout completes and every target is healthy; then steady", async () => {
    seedLiveBlue(h);
    await h.target.ensureRelease(h.env, "green", R2);
    const seen: string[] = [];
    let green = (await h.target.observe(h.env)).slots.green;
    expect(green.releaseId).toBe(R2.id);
    expect(green.rollout).toBe("in_progress");
    for (let i = 0; i < 10 && green.rollout !== "steady"; i++) {
      seen.push(green.detail ?? "");
      green = (await h.target.observe(h.env)).slots.green;
    }
    expect(green).toMatchObject({ rollout: "steady", desired: 2, running: 2, healthy: 2, detail: null });
    const details = seen.join("\n");
    expect(details).toContain("rollout IN_PROGRESS: ECS deployment ecs-svc/2 in progress.");
    expect(details).toMatch(/targets not healthy: 10\.0\.2\.10:8080 initial \(Elb\.InitialHealthChecking: Initial health checks in progress\)/);
    expect(details).toMatch(/ECS: \(service checkout-green\) has started 1 tasks/);
    // The engine moves on only then.
    const d = snapshot({ status: "deploying_green", stepIndex: 0 });
    expect(pass(d, await h.target.observe(h.env))).toMatchObject({ kind: "transition", to: "smoke_testing" });
  });

  it("says failed with the rollout's reason and the unhealthy targets' reasons; the engine fails the deployment with them", async () => {
    seedLiveBlue(h);
    h.fake.behave(R2.artifact, { errorRate: 0, p95Ms: 80, unhealthy: true });
    await h.target.ensureRelease(h.env, "green", R2);
    let observed = await h.target.observe(h.env);
    for (let i = 0; i < 10 && observed.slots.green.rollout !== "failed"; i++) observed = await h.target.observe(h.env);
    const green = observed.slots.green;
    expect(green.rollout).toBe("failed");
    expect(green.releaseId).toBe(R2.id);
    expect(green.detail).toContain("ECS deployment failed: ECS deployment circuit breaker: tasks failed to start.");
    expect(green.detail).toContain("Target.ResponseCodeMismatch: Health checks failed with these codes: [500]");
    const action = pass(snapshot({ status: "deploying_green" }), observed);
    expect(action).toMatchObject({ kind: "transition", to: "rolling_back", patch: { outcome: "failed" } });
    expect((action as { patch: { failureReason: string } }).patch.failureReason).toContain("circuit breaker: tasks failed to start");
  });

  it("reports a deployment ECS's circuit breaker rolled back as the release that failed there", async () => {
    const td2 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:2";
    const td1 = seedLiveBlue(h);
    h.fake.taskDefinitions.set(td2, { taskDefinition: { family: "checkout", taskDefinitionArn: td2 }, tags: [{ key: RELEASE_ID_TAG, value: R2.id }] });
    const service = (slot: "blue" | "green", deployments: Service["deployments"]): Service => ({
      serviceName: `checkout-${slot}`,
      status: "ACTIVE",
      taskDefinition: td1,
      desiredCount: 2,
      runningCount: slot === "blue" ? 2 : 1,
      pendingCount: 0,
      deployments,
      events: [{ createdAt: new Date(NOW.getTime() - 5000), message: "(service checkout-green) rolling back to deployment ecs-svc/1." }],
    });
    h.ecs.on(DescribeServicesCommand).resolves({
      services: [
        service("blue", [{ status: "PRIMARY", rolloutState: "COMPLETED", taskDefinition: td1 }]),
        service("green", [
          { id: "ecs-svc/3", status: "PRIMARY", rolloutState: "IN_PROGRESS", taskDefinition: td1, createdAt: new Date(NOW.getTime() - 60_000) },
          { id: "ecs-svc/2", status: "ACTIVE", rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.", taskDefinition: td2, createdAt: new Date(NOW.getTime() - 300_000) },
        ]),
      ],
    });
    const green = (await h.target.observe(h.env)).slots.green;
    expect(green.releaseId).toBe(R2.id);
    expect(green.rollout).toBe("failed");
    expect(green.detail).toContain("ECS rolled the deployment back: ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.");
  });

  it("fails a rollout still in progress after steadyStateTimeoutSeconds", async () => {
    const td1 = seedLiveBlue(h);
    h.ecs.on(DescribeServicesCommand).resolves({
      services: [
        { serviceName: "checkout-blue", status: "ACTIVE", taskDefinition: td1, desiredCount: 2, runningCount: 2, pendingCount: 0, deployments: [{ status: "PRIMARY", rolloutState: "COMPLETED" }] },
        {
          serviceName: "checkout-green",
          status: "ACTIVE",
          taskDefinition: td1,
          desiredCount: 2,
          runningCount: 0,
          pendingCount: 2,
          deployments: [{ status: "PRIMARY", rolloutState: "IN_PROGRESS", rolloutStateReason: "ECS deployment ecs-svc/2 in progress.", createdAt: new Date(NOW.getTime() - 601_000) }],
          events: [{ createdAt: new Date(NOW.getTime() - 30_000), message: "(service checkout-green) was unable to place a task because no container instance met all of its requirements." }],
        },
      ],
    });
    const green = (await h.target.observe(h.env)).slots.green;
    expect(green.rollout).toBe("failed");
    expect(green.detail).toContain("not steady 600 s after the deployment started");
    expect(green.detail).toContain("was unable to place a task");
  });

  it("says which service is missing from the cluster", async () => {
    seedLiveBlue(h);
    h.fake.services.delete("checkout-green");
    await expect(h.target.observe(h.env)).rejects.toThrow('The green ECS service "checkout-green" was not found in cluster shop (MISSING)');
  });
});

describe("ensureRelease", () => {
  it("registers a revision of the live slot's task definition with only the image changed, and points the slot's service at it with the live desired count", async () => {
    const liveTd = seedLiveBlue(h);
    await h.target.ensureRelease(h.env, "green", R2);

    expect(h.ecs.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input)).toContainEqual({ taskDefinition: liveTd, include: ["TAGS"] });
    const registered = h.ecs.commandCalls(RegisterTaskDefinitionCommand);
    expect(registered).toHaveLength(1);
    const source = sampleTaskDefinition("checkout", R1.artifact);
    const input = registered[0]!.args[0].input;
    expect(input).toEqual({
      family: "checkout",
      taskRoleArn: source.taskRoleArn,
      executionRoleArn: source.executionRoleArn,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "512",
      memory: "1024",
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      containerDefinitions: [{ ...source.containerDefinitions![0], image: R2.artifact }, source.containerDefinitions![1]],
      tags: [
        { key: "team", value: "payments" },
        { key: RELEASE_ID_TAG, value: R2.id },
        { key: "greenlight:release-version", value: "1.1.0" },
      ],
    });
    // Secrets and environment are kept as they were; read-only fields are not sent back.
    expect(input.containerDefinitions![0]!.secrets).toEqual([{ name: "DATABASE_URL", valueFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout/db-AbCdEf" }]);
    for (const field of ["taskDefinitionArn", "revision", "status", "compatibilities", "requiresAttributes", "registeredAt", "registeredBy"]) expect(input).not.toHaveProperty(field);

    const updates = h.ecs.commandCalls(UpdateServiceCommand);
    expect(updates.map((c) => c.args[0].input)).toEqual([
      { cluster: "shop", service: "checkout-green", taskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:2", desiredCount: 2 },
    ]);
  });

  it("is idempotent: a second call, and a later pass that observes the same state, write nothing", async () => {
    seedLiveBlue(h);
    await h.target.ensureRelease(h.env, "green", R2);
    const before = h.writes();
    await h.target.ensureRelease(h.env, "green", R2);
    const observed = await h.target.observe(h.env);
    expect(observed.slots.green.releaseId).toBe(R2.id);
    // The engine does not ask again once the slot runs the release.
    expect(pass(snapshot({ status: "deploying_green" }), observed).kind).not.toBe("ensureRelease");
    expect(h.writes()).toEqual(before);
    expect(before).toEqual(["ecs:RegisterTaskDefinition", "ecs:UpdateService"]);
  });

  it("brings a slot that was scaled to zero with the same release back up without registering again", async () => {
    seedLiveBlue(h);
    await h.target.ensureRelease(h.env, "green", R2);
    await h.target.scale(h.env, "green", 0);
    await h.target.observe(h.env);
    const green = (await h.target.observe(h.env)).slots.green;
    expect(green).toMatchObject({ rollout: "stopped", releaseId: null });
    h.fake.calls.length = 0;
    await h.target.ensureRelease(h.env, "green", R2);
    expect(h.fake.calls.filter((c) => c.action === "ecs:UpdateService").map((c) => c.input)).toEqual([{ cluster: "shop", service: "checkout-green", desiredCount: 2 }]);
    expect(h.writes()).toEqual(["ecs:UpdateService"]);
  });

  it("starts a new ECS deployment when the same release failed here before and was scaled down", async () => {
    seedLiveBlue(h);
    h.fake.behave(R2.artifact, { errorRate: 0, p95Ms: 80, unhealthy: true });
    await h.target.ensureRelease(h.env, "green", R2);
    for (let i = 0; i < 10 && (await h.target.observe(h.env)).slots.green.rollout !== "failed"; i++);
    await h.target.scale(h.env, "green", 0);
    expect((await h.target.observe(h.env)).slots.green).toMatchObject({ rollout: "stopped", releaseId: null });
    h.fake.behave(R2.artifact, { errorRate: 0, p95Ms: 80 }); // the cause (capacity, a secret) was fixed
    await h.target.ensureRelease(h.env, "green", R2);
    expect(h.ecs.commandCalls(UpdateServiceCommand).at(-1)!.args[0].input).toEqual({ cluster: "shop", service: "checkout-green", desiredCount: 2, forceNewDeployment: true });
    let green = (await h.target.observe(h.env)).slots.green;
    for (let i = 0; i < 10 && green.rollout !== "steady"; i++) green = (await h.target.observe(h.env)).slots.green;
    expect(green).toMatchObject({ rollout: "steady", releaseId: R2.id });
    expect(h.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
  });

  it("refuses when the live task definition has no container by the configured name", async () => {
    const r = harness({ containerName: "web" });
    seedLiveBlue(r);
    await expect(r.target.ensureRelease(r.env, "green", R2)).rejects.toThrow(/has no container named "web" \(it has app, otel-collector\); fix containerName/);
    expect(r.writes()).toEqual([]);
  });
});

describe("setWeights", () => {
  it("makes one ModifyListener call listing both target groups with their weights and stickiness, then reads the weights back", async () => {
    seedLiveBlue(h);
    h.fake.calls.length = 0;
    await h.target.setWeights(h.env, { blue: 90, green: 10 });
    expect(h.fake.calls.map((c) => c.action)).toEqual(["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:DescribeListeners"]);
    expect(h.elb.commandCalls(ModifyListenerCommand)[0]!.args[0].input).toEqual({
      ListenerArn: LISTENER,
      DefaultActions: [
        {
          Type: "forward",
          Order: 1,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: TG_BLUE, Weight: 90 },
              { TargetGroupArn: TG_GREEN, Weight: 10 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
          },
        },
      ],
    });
    expect((await h.target.observe(h.env)).weights).toEqual({ blue: 90, green: 10 });
  });

  it("skips the call when the weights already match", async () => {
    seedLiveBlue(h);
    await h.target.setWeights(h.env, { blue: 50, green: 50 });
    h.fake.calls.length = 0;
    await h.target.setWeights(h.env, { blue: 50, green: 50 });
    expect(h.fake.calls.map((c) => c.action)).toEqual(["elasticloadbalancing:DescribeListeners"]);
  });

  it("switches stickiness off once one slot has all the traffic, so clients stuck to the other follow", async () => {
    seedLiveBlue(h);
    await h.target.setWeights(h.env, { blue: 50, green: 50 });
    await h.target.setWeights(h.env, { blue: 100, green: 0 });
    const last = h.elb.commandCalls(ModifyListenerCommand).at(-1)!.args[0].input;
    expect(last.DefaultActions![0]!.ForwardConfig).toEqual({
      TargetGroups: [
        { TargetGroupArn: TG_BLUE, Weight: 100 },
        { TargetGroupArn: TG_GREEN, Weight: 0 },
      ],
      TargetGroupStickinessConfig: { Enabled: false },
    });
  });

  it("uses ModifyRule for a listener rule", async () => {
    const r = harness({ listenerArn: undefined, listenerRuleArn: RULE, stickinessSeconds: 120 });
    seedLiveBlue(r, RULE);
    await r.target.setWeights(r.env, { blue: 50, green: 50 });
    expect(r.elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    expect(r.elb.commandCalls(ModifyRuleCommand)[0]!.args[0].input).toEqual({
      RuleArn: RULE,
      Actions: [
        {
          Type: "forward",
          Order: 1,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: TG_BLUE, Weight: 50 },
              { TargetGroupArn: TG_GREEN, Weight: 50 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 120 },
          },
        },
      ],
    });
  });

  it("keeps the listener's other actions (an OIDC authentication step keeps its stored client secret)", async () => {
    seedLiveBlue(h);
    const oidc = { Issuer: "https://idp.test", AuthorizationEndpoint: "https://idp.test/auth", TokenEndpoint: "https://idp.test/token", UserInfoEndpoint: "https://idp.test/userinfo", ClientId: "shop" };
    h.fake.routes.set(LISTENER, [{ Type: "authenticate-oidc", Order: 1, AuthenticateOidcConfig: oidc }, { ...h.fake.routes.get(LISTENER)![0]!, Order: 2 }]);
    await h.target.setWeights(h.env, { blue: 90, green: 10 });
    const actions = h.elb.commandCalls(ModifyListenerCommand)[0]!.args[0].input.DefaultActions!;
    expect(actions[0]).toEqual({ Type: "authenticate-oidc", Order: 1, AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true } });
    expect(actions[1]).toMatchObject({ Type: "forward", Order: 2 });
  });

  it("throws a clear error when the weights read back differ", async () => {
    seedLiveBlue(h);
    h.elb.on(ModifyListenerCommand).resolves({});
    await expect(h.target.setWeights(h.env, { blue: 90, green: 10 })).rejects.toThrow("The listener's weights read back as blue 100% / green 0%, expected blue 90% / green 10%");
  });

  it("refuses weights that do not make 100%, without calling AWS", async () => {
    await expect(h.target.setWeights(h.env, { blue: 90, green: 20 })).rejects.toThrow("Weights must add up to 100");
    expect(h.fake.calls).toEqual([]);
  });
});

describe("scale", () => {
  it("sets the desired count, and skips the call when it is already so", async () => {
    seedLiveBlue(h);
    await h.target.scale(h.env, "blue", 0);
    await h.target.scale(h.env, "blue", 0);
    expect(h.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: "shop", service: "checkout-blue", desiredCount: 0 }]);
  });
});

describe("metrics", () => {
  // Periods 12:00 … 12:04 have ended at least metricsDelaySeconds (90) before 12:06:40.
  const window = { from: new Date("2026-11-24T12:00:30Z"), to: new Date("2026-11-24T12:06:40Z") };
  const minute = (m: number) => new Date(Date.UTC(2026, 10, 24, 12, m));

  it("asks CloudWatch per target group for requests, 5xx and p50/p95/p99 over the whole periods that should be published", async () => {
    h.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await h.target.metrics(h.env, window);
    const input = h.cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.StartTime).toEqual(minute(0));
    expect(input.EndTime).toEqual(minute(5));
    const byId = Object.fromEntries(input.MetricDataQueries!.map((q) => [q.Id, q.MetricStat]));
    expect(Object.keys(byId).sort()).toEqual(["errors_blue", "errors_green", "p50_blue", "p50_green", "p95_blue", "p95_green", "p99_blue", "p99_green", "requests_blue", "requests_green"]);
    expect(byId.requests_green).toEqual({
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "RequestCount",
        Dimensions: [
          { Name: "TargetGroup", Value: "targetgroup/checkout-green/2453ed029918f21f" },
          { Name: "LoadBalancer", Value: "app/shop-alb/50dc6c495c0c9188" },
        ],
      },
      Period: 60,
      Stat: "Sum",
    });
    expect(byId.errors_blue).toMatchObject({ Metric: { MetricName: "HTTPCode_Target_5XX_Count" }, Period: 60, Stat: "Sum" });
    expect(byId.p95_green).toMatchObject({ Metric: { MetricName: "TargetResponseTime" }, Period: 300, Stat: "p95" });
  });

  it("sums requests and errors, converts latency to milliseconds and says complete once the last period is in", async () => {
    const periods = [0, 1, 2, 3, 4].map(minute);
    h.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "requests_green", Timestamps: periods, Values: [10, 10, 10, 10, 10], StatusCode: "Complete" },
        { Id: "errors_green", Timestamps: [minute(2)], Values: [1], StatusCode: "Complete" },
        { Id: "p50_green", Timestamps: [minute(0)], Values: [0.04], StatusCode: "Complete" },
        { Id: "p95_green", Timestamps: [minute(0)], Values: [0.2315], StatusCode: "Complete" },
        { Id: "p99_green", Timestamps: [minute(0)], Values: [0.5], StatusCode: "Complete" },
        { Id: "requests_blue", Timestamps: periods, Values: [90, 90, 90, 90, 90], StatusCode: "Complete" },
      ],
    });
    const m = await h.target.metrics(h.env, window);
    expect(m.complete).toBe(true);
    expect(m.slots.green).toEqual({ requests: 50, errors: 1, errorRate: 0.02, p50: 40, p95: 231.5, p99: 500 });
    expect(m.slots.blue).toEqual({ requests: 450, errors: 0, errorRate: 0, p50: null, p95: null, p99: null });
  });

  it("says incomplete while CloudWatch has no datapoints yet, so the gates wait instead of passing on no data", async () => {
    h.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "requests_green", Timestamps: [], Values: [], StatusCode: "Complete" }] });
    const m = await h.target.metrics(h.env, window);
    expect(m.complete).toBe(false);
    const gates = evaluateGates(defaultPolicy(true).gates, { green: m.slots.green, live: m.slots.blue, baseline: null, complete: m.complete });
    expect(gates.map((g) => g.outcome)).toEqual(["waiting", "waiting", "waiting", "waiting"]);
    expect(gates[0]!.detail).toBe("waiting for metrics: the target's data for this period is not all in yet");
    // decide() waits with that reason once the bake is over.
    const d = snapshot({ status: "shifting", stepReachedAt: new Date(NOW.getTime() - 3600_000) });
    seedLiveBlue(h);
    h.fake.seedRoute(LISTENER, { blue: 90, green: 10 });
    const observed = await h.target.observe(h.env);
    expect(decide(d, { observed, gates, metrics: m, now: NOW })).toMatchObject({ kind: "wait", reason: "waiting for metrics: the target's data for this period is not all in yet" });
  });

  it("says incomplete while a slot's last period is missing (a late datapoint), even with earlier data", async () => {
    h.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "requests_green", Timestamps: [0, 1, 2, 3].map(minute), Values: [10, 10, 10, 10], StatusCode: "Complete" },
        { Id: "requests_blue", Timestamps: [0, 1, 2, 3, 4].map(minute), Values: [90, 90, 90, 90, 90], StatusCode: "Complete" },
      ],
    });
    expect((await h.target.metrics(h.env, window)).complete).toBe(false);
  });

  it("asks only for periods that ended metricsDelaySeconds ago, and makes no call before there is one", async () => {
    const early = { from: new Date("2026-11-24T12:00:05Z"), to: new Date("2026-11-24T12:01:20Z") };
    const m = await h.target.metrics(h.env, early);
    expect(m.complete).toBe(false);
    expect(h.cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
    const eager = harness({ metricsDelaySeconds: 0 });
    eager.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "requests_green", Timestamps: [minute(0)], Values: [3], StatusCode: "Complete" }] });
    const n = await eager.target.metrics(eager.env, early);
    expect(eager.cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input).toMatchObject({ StartTime: minute(0), EndTime: minute(1) });
    expect(n).toMatchObject({ complete: true, slots: { green: { requests: 3 } } });
  });

  it("follows NextToken across pages", async () => {
    const periods = [0, 1, 2, 3, 4].map(minute);
    h.cw
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: "requests_green", Timestamps: periods.slice(0, 3), Values: [1, 1, 1], StatusCode: "PartialData" }], NextToken: "t1" })
      .resolvesOnce({ MetricDataResults: [{ Id: "requests_green", Timestamps: periods.slice(3), Values: [1, 1], StatusCode: "Complete" }] });
    const m = await h.target.metrics(h.env, window);
    expect(m.slots.green.requests).toBe(5);
    expect(m.complete).toBe(true);
    expect(h.cw.commandCalls(GetMetricDataCommand)[1]!.args[0].input.NextToken).toBe("t1");
  });

  it("fails loudly when CloudWatch refuses (a missing permission is not 'no data')", async () => {
    h.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "requests_green", StatusCode: "Forbidden", Messages: [{ Code: "Forbidden", Value: "not authorized" }] }] });
    await expect(h.target.metrics(h.env, window)).rejects.toThrow("CloudWatch answered Forbidden for requests_green: not authorized");
  });
});

describe("slotUrl", () => {
  it("is the configured smoke-test URL of the slot", async () => {
    expect(await h.target.slotUrl(h.env, "green")).toBe("https://green.checkout.test");
  });

  it("says smoke tests on ECS need one when none is configured", async () => {
    const r = harness({ smokeTestBaseUrls: undefined });
    await expect(r.target.slotUrl(r.env, "green")).rejects.toThrow(/Smoke tests on ECS need a URL that reaches the green slot directly: set smokeTestBaseUrls\.green/);
  });

  it("points the test listener at the slot under test first (once)", async () => {
    const r = harness({ testListenerArn: TEST_LISTENER, smokeTestBaseUrls: { blue: "https://shop.test:8443", green: "https://shop.test:8443" } });
    seedLiveBlue(r);
    r.fake.seedRoute(TEST_LISTENER, { blue: 1, green: 0 });
    expect(await r.target.slotUrl(r.env, "green")).toBe("https://shop.test:8443");
    expect(r.fake.weights(TEST_LISTENER)).toEqual({ blue: 0, green: 100 });
    expect(r.fake.weights(LISTENER)).toEqual({ blue: 100, green: 0 });
    await r.target.slotUrl(r.env, "green");
    expect(r.elb.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input.ListenerArn)).toEqual([TEST_LISTENER]);
  });
});

describe("a step half-applied when the retry budget ran out", () => {
  const throttled = () =>
    new ElasticLoadBalancingV2ServiceException({ name: "ThrottlingException", $fault: "client", message: "Rate exceeded", $metadata: { httpStatusCode: 400, attempts: 5 } });
  const shifting = snapshot({ status: "shifting", stepIndex: 0, stepReachedAt: null });
  const tenPercent: Weights = { blue: 90, green: 10 };

  it("the change never reached AWS: the error propagates, the next pass observes the old weights and sets them again", async () => {
    seedLiveBlue(h);
    h.elb.on(ModifyListenerCommand).rejectsOnce(throttled()).callsFake(h.fake.modifyListener);
    await expect(h.target.setWeights(h.env, tenPercent)).rejects.toThrow("Rate exceeded");
    const observed = await h.target.observe(h.env);
    expect(observed.weights).toEqual({ blue: 100, green: 0 });
    expect(pass(shifting, observed)).toEqual({ kind: "setWeights", weights: tenPercent });
    await h.target.setWeights(h.env, tenPercent);
    const after = await h.target.observe(h.env);
    expect(after.weights).toEqual(tenPercent);
    expect(pass(shifting, after)).toMatchObject({ kind: "transition", to: "shifting", patch: { stepReachedAt: NOW } });
  });

  it("the change reached AWS but the read-back failed: the next pass observes the new weights and writes nothing", async () => {
    seedLiveBlue(h);
    h.elb.on(DescribeListenersCommand).callsFakeOnce(h.fake.describeListeners).rejectsOnce(throttled()).callsFake(h.fake.describeListeners);
    await expect(h.target.setWeights(h.env, tenPercent)).rejects.toThrow("Rate exceeded");
    const observed = await h.target.observe(h.env);
    expect(observed.weights).toEqual(tenPercent);
    expect(pass(shifting, observed).kind).toBe("transition");
    await h.target.setWeights(h.env, tenPercent); // even if asked again: no write
    expect(h.elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
  });

  it("an ECS write that failed is retried the same way (nothing registered twice once it took)", async () => {
    seedLiveBlue(h);
    h.ecs.on(UpdateServiceCommand).rejectsOnce(new ECSServiceException({ name: "ServerException", $fault: "server", message: "Service Unavailable", $metadata: { httpStatusCode: 503 } })).callsFake(h.fake.updateService);
    await expect(h.target.ensureRelease(h.env, "green", R2)).rejects.toThrow("Service Unavailable");
    const observed = await h.target.observe(h.env);
    expect(observed.slots.green.releaseId).toBeNull();
    expect(pass(snapshot({ status: "deploying_green" }), observed)).toEqual({ kind: "ensureRelease", slot: "green" });
    await h.target.ensureRelease(h.env, "green", R2);
    expect((await h.target.observe(h.env)).slots.green.releaseId).toBe(R2.id);
    await h.target.ensureRelease(h.env, "green", R2);
    // The first registration's revision was never used; the retry registered one more, then nothing.
    expect(h.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(2);
    expect(h.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(2);
  });
});

describe("verifyEcsConfigAgainstAws", () => {
  it("passes when the listener forwards to both target groups and both services exist and register into them", async () => {
    seedLiveBlue(h);
    const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.check)).toEqual(["route", "blue service", "green service"]);
  });

  it("says the target groups are not attached to the listener", async () => {
    seedLiveBlue(h);
    h.fake.routes.set(LISTENER, [{ Type: "forward", TargetGroupArn: TG_BLUE }]);
    const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([`route: target groups not attached to the listener: green (${TG_GREEN}). Its forward action must list both target groups (weights may be 0).`]);
  });

  it("says which service does not exist in the cluster", async () => {
    seedLiveBlue(h);
    h.fake.services.delete("checkout-blue");
    const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
    expect(result.problems).toEqual(['blue service: service "checkout-blue" does not exist in cluster shop (MISSING)']);
  });

  it("says when a listener cannot be read", async () => {
    seedLiveBlue(h);
    h.elb.on(DescribeListenersCommand).rejects(new ElasticLoadBalancingV2ServiceException({ name: "ListenerNotFoundException", $fault: "client", message: "One or more listeners not found", $metadata: {} }));
    const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
    expect(result.problems[0]).toBe("route: cannot read the listener: ListenerNotFoundException: One or more listeners not found");
  });
});

describe("planEcsDeployment", () => {
  it("lists the AWS calls in order, with the resources they touch, and the rollback path", () => {
    const plan = planEcsDeployment(h.config, { liveSlot: "blue", release: R2, steps: [10, 50, 100], smokeTests: 2 });
    expect(plan.targetSlot).toBe("green");
    const writes = plan.calls.filter((c) => c.write).map((c) => `${c.action} ${c.resources[0]}`);
    expect(writes).toEqual([
      "RegisterTaskDefinition checkout-blue's task definition family",
      "UpdateService checkout-green",
      `ModifyListener ${LISTENER}`,
      `ModifyListener ${LISTENER}`,
      `ModifyListener ${LISTENER}`,
      "UpdateService checkout-blue",
    ]);
    const steps = plan.calls.filter((c) => c.action === "ModifyListener").map((c) => c.detail);
    expect(steps[0]).toBe("forward: blue weight 90, green weight 10; stickiness on, 3600 s");
    expect(steps[2]).toBe("forward: blue weight 0, green weight 100; stickiness off (all traffic on one slot)");
    expect(plan.calls.filter((c) => c.action === "GetMetricData").map((c) => c.phase)).toEqual(["Step 1 of 3: 10% on green", "Step 2 of 3: 50% on green", "Step 3 of 3: 100% on green", "Validate at 100%"]);
    expect(plan.rollback.filter((c) => c.write).map((c) => `${c.action} ${c.detail}`)).toEqual([
      "ModifyListener forward: blue weight 100, green weight 0; stickiness off, so clients stuck to green follow",
      "UpdateService desiredCount → 0",
    ]);
  });
});
