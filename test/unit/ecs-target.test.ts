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
import { judge } from "../../server/releases/judge/judge.ts";
import { decide, type DeploymentSnapshot } from "../../server/releases/plan.ts";
import { defaultPolicy } from "../../server/releases/policy.ts";
import type { EnvironmentRef, Observed, Weights } from "../../server/targets/driver.ts";
import { createEcsClients, type EcsClients } from "../../server/targets/ecs/clients.ts";
import { RELEASE_ID_TAG, validateEcsConfig, type EcsConfig } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import {
  FakeAws,
  mockAws,
  sampleEcsConfigInput,
  sampleTaskDefinition,
  LISTENER,
  RULE,
  TG_BLUE,
  TG_GREEN,
} from "../helpers/fake-aws.ts";
import { planEcsDeployment } from "../../server/targets/ecs/plan.ts";
import { verifyEcsConfigAgainstAws } from "../../server/targets/ecs/verify.ts";

const TEST_LISTENER =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop-alb/50dc6c495c0c9188/0467ef3c8400ae65";
const NOW = new Date("2026-11-24T12:05:10Z");

const R1 = {
  id: "11111111-1111-4111-8111-111111111111",
  version: "1.0.0",
  artifact: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:1.0.0",
  settings: {},
};
const R2 = {
  id: "22222222-2222-4222-8222-222222222222",
  version: "1.1.0",
  artifact: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:1.1.0",
  settings: {},
};

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
  const raw = sampleEcsConfigInput({
    smokeTestBaseUrls: { blue: "https://blue.checkout.test", green: "https://green.checkout.test" },
    pollIntervalMs: 0,
    ...overrides,
  });
  const result = validateEcsConfig(raw);
  if (!result.ok) throw new Error(result.error);
  const config = result.config;
  const clients = createEcsClients({ region: config.region, retry: config.retry });
  const fake = new FakeAws(config, () => NOW);
  const { ecs, elb, cw } = mockAws(fake, clients);
  const target = new EcsTarget({ clients: () => clients, now: () => NOW });
  const env: EnvironmentRef = {
    id: "env-1",
    serviceSlug: "checkout",
    name: "production",
    target: "ecs",
    targetConfig: raw,
  };
  const WRITE = [
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyRule",
  ];
  return {
    config,
    env,
    clients,
    target,
    ecs,
    elb,
    cw,
    fake,
    writes: () => fake.calls.filter((c) => WRITE.includes(c.action)).map((c) => c.action),
  };
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
    gateFailures: null,
    startedAt: new Date("2026-11-24T11:59:00Z"),
    trafficStartedAt: null,
    rollbackReasonKind: null,
    breachAt: null,
    rollbackCompletedAt: null,
    rollbackHooksRanAt: null,
    outcome: null,
    hasRollbackHooks: false,
    ...over,
  };
}

const pass = (d: DeploymentSnapshot, observed: Observed) =>
  decide(d, { observed, gates: null, metrics: null, now: NOW });

let h: Harness;
beforeEach(() => {
  h = harness();
});

describe("observe", () => {
  it("reads both services, their task definitions' release tags, the target groups' health and the listener's weights", async () => {
    seedLiveBlue(h);
    const observed = await h.target.observe(h.env);
    expect(observed.weights).toEqual({ blue: 100, green: 0 });
    expect(observed.slots.blue).toEqual({
      slot: "blue",
      releaseId: R1.id,
      desired: 2,
      running: 2,
      pending: 0,
      healthy: 2,
      rollout: "steady",
      detail: null,
    });
    expect(observed.slots.green).toEqual({
      slot: "green",
      releaseId: null,
      desired: 0,
      running: 0,
      pending: 0,
      healthy: 0,
      rollout: "stopped",
      detail: null,
    });
    expect(h.ecs.commandCalls(DescribeServicesCommand)[0]!.args[0].input).toEqual({
      cluster: "shop",
      services: ["checkout-blue", "checkout-green"],
    });
    expect(h.ecs.commandCalls(DescribeTaskDefinitionCommand)[0]!.args[0].input).toMatchObject({ include: ["TAGS"] });
    expect(
      h.elb
        .commandCalls(DescribeTargetHealthCommand)
        .map((c) => c.args[0].input.TargetGroupArn)
        .sort(),
    ).toEqual([TG_GREEN, TG_BLUE].sort());
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
    expect(details).toMatch(
      /targets not healthy: 10\.0\.2\.10:8080 initial \(Elb\.InitialHealthChecking: Initial health checks in progress\)/,
    );
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
    expect((action as { patch: { failureReason: string } }).patch.failureReason).toContain(
      "circuit breaker: tasks failed to start",
    );
  });

  it("reports a deployment ECS's circuit breaker rolled back as the release that failed there", async () => {
    const td2 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:2";
    const td1 = seedLiveBlue(h);
    h.fake.taskDefinitions.set(td2, {
      taskDefinition: { family: "checkout", taskDefinitionArn: td2 },
      tags: [{ key: RELEASE_ID_TAG, value: R2.id }],
    });
    const service = (slot: "blue" | "green", deployments: Service["deployments"]): Service => ({
      serviceName: `checkout-${slot}`,
      status: "ACTIVE",
      taskDefinition: td1,
      desiredCount: 2,
      runningCount: slot === "blue" ? 2 : 1,
      pendingCount: 0,
      deployments,
      events: [
        {
          createdAt: new Date(NOW.getTime() - 5000),
          message: "(service checkout-green) rolling back to deployment ecs-svc/1.",
        },
      ],
    });
    h.ecs.on(DescribeServicesCommand).resolves({
      services: [
        service("blue", [{ status: "PRIMARY", rolloutState: "COMPLETED", taskDefinition: td1 }]),
        service("green", [
          {
            id: "ecs-svc/3",
            status: "PRIMARY",
            rolloutState: "IN_PROGRESS",
            taskDefinition: td1,
            createdAt: new Date(NOW.getTime() - 60_000),
          },
          {
            id: "ecs-svc/2",
            status: "ACTIVE",
            rolloutState: "FAILED",
            rolloutStateReason: "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.",
            taskDefinition: td2,
            createdAt: new Date(NOW.getTime() - 300_000),
          },
        ]),
      ],
    });
    const green = (await h.target.observe(h.env)).slots.green;
    expect(green.releaseId).toBe(R2.id);
    expect(green.rollout).toBe("failed");
    expect(green.detail).toContain(
      "ECS rolled the deployment back: ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.",
    );
  });

  it("fails a rollout still in progress after steadyStateTimeoutSeconds", async () => {
    const td1 = seedLiveBlue(h);
    h.ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: "checkout-blue",
          status: "ACTIVE",
          taskDefinition: td1,
          desiredCount: 2,
          runningCount: 2,
          pendingCount: 0,
          deployments: [{ status: "PRIMARY", rolloutState: "COMPLETED" }],
        },
        {
          serviceName: "checkout-green",
          status: "ACTIVE",
          taskDefinition: td1,
          desiredCount: 2,
          runningCount: 0,
          pendingCount: 2,
          deployments: [
            {
              status: "PRIMARY",
              rolloutState: "IN_PROGRESS",
              rolloutStateReason: "ECS deployment ecs-svc/2 in progress.",
              createdAt: new Date(NOW.getTime() - 601_000),
            },
          ],
          events: [
            {
              createdAt: new Date(NOW.getTime() - 30_000),
              message:
                "(service checkout-green) was unable to place a task because no container instance met all of its requirements.",
            },
          ],
        },
      ],
    });
    const green = (await h.target.observe(h.env)).slots.green;
    expect(green.rollout).toBe("failed");
    expect(green.detail).toContain("not steady 600 s after the deployment started");
    expect(green.detail).toContain("was unable to place a task");
  });

  it("says which service is missing from the cluster, and for which environment", async () => {
    seedLiveBlue(h);
    h.fake.services.delete("checkout-green");
    await expect(h.target.observe(h.env)).rejects.toThrow(
      new Error(
        "service checkout-green (the green slot) does not exist in cluster shop (environment production of checkout)",
      ),
    );
  });

  it.each<[string, (h: Harness) => void, string]>([
    [
      "the listener",
      (h) => h.fake.routes.delete(LISTENER),
      `listener ${LISTENER} does not exist (environment production of checkout)`,
    ],
    [
      "the cluster",
      (h) =>
        h.ecs.on(DescribeServicesCommand).rejects(
          new ECSServiceException({
            name: "ClusterNotFoundException",
            $fault: "client",
            message: "Cluster not found.",
            $metadata: {},
          }),
        ),
      "cluster shop does not exist (environment production of checkout)",
    ],
    [
      "a target group",
      (h) =>
        h.elb.on(DescribeTargetHealthCommand).rejects(
          new ElasticLoadBalancingV2ServiceException({
            name: "TargetGroupNotFoundException",
            $fault: "client",
            message: "Target groups not found",
            $metadata: {},
          }),
        ),
      `target group ${TG_BLUE} does not exist (environment production of checkout)`,
    ],
  ])(
    "names %s when AWS says it does not exist, with the environment, not AWS's words",
    async (_what, remove, message) => {
      seedLiveBlue(h);
      remove(h);
      const error = await h.target.observe(h.env).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message.split(";")[0]).toBe(message);
    },
  );

  it("names a missing listener rule on a weight change", async () => {
    const r = harness({ listenerArn: undefined, listenerRuleArn: RULE });
    seedLiveBlue(r, RULE);
    r.fake.routes.delete(RULE);
    await expect(r.target.setWeights(r.env, { blue: 90, green: 10 })).rejects.toMatchObject({
      name: "MissingResource",
      message: `listener rule ${RULE} does not exist (environment production of checkout)`,
    });
  });
});

describe("ensureRelease", () => {
  it("registers a revision of the live slot's task definition with only the image changed, and points the slot's service at it with the live desired count", async () => {
    const liveTd = seedLiveBlue(h);
    await h.target.ensureRelease(h.env, "green", R2);

    expect(h.ecs.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input)).toContainEqual({
      taskDefinition: liveTd,
      include: ["TAGS"],
    });
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
      containerDefinitions: [
        { ...source.containerDefinitions![0], image: R2.artifact },
        source.containerDefinitions![1],
      ],
      tags: [
        { key: "team", value: "payments" },
        { key: RELEASE_ID_TAG, value: R2.id },
        { key: "greenlight:release-version", value: "1.1.0" },
      ],
    });
    // Secrets and environment are kept as they were; read-only fields are not sent back.
    expect(input.containerDefinitions![0]!.secrets).toEqual([
      { name: "DATABASE_URL", valueFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout/db-AbCdEf" },
    ]);
    for (const field of [
      "taskDefinitionArn",
      "revision",
      "status",
      "compatibilities",
      "requiresAttributes",
      "registeredAt",
      "registeredBy",
    ])
      expect(input).not.toHaveProperty(field);

    const updates = h.ecs.commandCalls(UpdateServiceCommand);
    expect(updates.map((c) => c.args[0].input)).toEqual([
      {
        cluster: "shop",
        service: "checkout-green",
        taskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:2",
        desiredCount: 2,
      },
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
    expect(h.fake.calls.filter((c) => c.action === "ecs:UpdateService").map((c) => c.input)).toEqual([
      { cluster: "shop", service: "checkout-green", desiredCount: 2 },
    ]);
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
    expect(h.ecs.commandCalls(UpdateServiceCommand).at(-1)!.args[0].input).toEqual({
      cluster: "shop",
      service: "checkout-green",
      desiredCount: 2,
      forceNewDeployment: true,
    });
    let green = (await h.target.observe(h.env)).slots.green;
    for (let i = 0; i < 10 && green.rollout !== "steady"; i++) green = (await h.target.observe(h.env)).slots.green;
    expect(green).toMatchObject({ rollout: "steady", releaseId: R2.id });
    expect(h.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
  });

  it("refuses when the live task definition has no container by the configured name", async () => {
    const r = harness({ containerName: "web" });
    seedLiveBlue(r);
    await expect(r.target.ensureRelease(r.env, "green", R2)).rejects.toThrow(
      /has no container named "web" \(it has app, otel-collector\); fix containerName/,
    );
    expect(r.writes()).toEqual([]);
  });
});

describe("setWeights", () => {
  it("makes one ModifyListener call listing both target groups with their weights and stickiness, then reads the weights back", async () => {
    seedLiveBlue(h);
    h.fake.calls.length = 0;
    await h.target.setWeights(h.env, { blue: 90, green: 10 });
    expect(h.fake.calls.map((c) => c.action)).toEqual([
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:DescribeListeners",
    ]);
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
    const oidc = {
      Issuer: "https://idp.test",
      AuthorizationEndpoint: "https://idp.test/auth",
      TokenEndpoint: "https://idp.test/token",
      UserInfoEndpoint: "https://idp.test/userinfo",
      ClientId: "shop",
    };
    h.fake.routes.set(LISTENER, [
      { Type: "authenticate-oidc", Order: 1, AuthenticateOidcConfig: oidc },
      { ...h.fake.routes.get(LISTENER)![0]!, Order: 2 },
    ]);
    await h.target.setWeights(h.env, { blue: 90, green: 10 });
    const actions = h.elb.commandCalls(ModifyListenerCommand)[0]!.args[0].input.DefaultActions!;
    expect(actions[0]).toEqual({
      Type: "authenticate-oidc",
      Order: 1,
      AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true },
    });
    expect(actions[1]).toMatchObject({ Type: "forward", Order: 2 });
  });

  it("throws a clear error when the weights read back differ", async () => {
    seedLiveBlue(h);
    h.elb.on(ModifyListenerCommand).resolves({});
    await expect(h.target.setWeights(h.env, { blue: 90, green: 10 })).rejects.toThrow(
      `The listener ${LISTENER}'s weights read back as blue 100% / green 0%, expected blue 90% / green 10%`,
    );
  });

  it("refuses weights that do not make 100%, without calling AWS", async () => {
    await expect(h.target.setWeights(h.env, { blue: 90, green: 20 })).rejects.toThrow("Weights must add up to 100");
    expect(h.fake.calls).toEqual([]);
  });
});

describe("several listeners (HTTP and HTTPS) and a rule", () => {
  const HTTPS = LISTENER.replace("f2f7dc8efc522ab2", "aa11bb22cc33dd44");
  const WS_RULE = RULE.replace("9683b2d02a6cabee", "0123456789abcdef");
  const several = () => {
    const m = harness({ listenerArn: undefined, listenerArns: [LISTENER, HTTPS], listenerRuleArns: [WS_RULE] });
    seedLiveBlue(m);
    m.fake.seedRoute(HTTPS, { blue: 100, green: 0 });
    m.fake.seedRoute(WS_RULE, { blue: 100, green: 0 });
    return m;
  };
  const elbCalls = (m: Harness) =>
    m.fake.calls
      .filter(
        (c) => c.action.startsWith("elasticloadbalancing:") && c.action !== "elasticloadbalancing:DescribeTargetHealth",
      )
      .map((c) => c.action.split(":")[1]);

  it("shifts them all in one step: one read per kind, one write per route, one read back per kind", async () => {
    const m = several();
    await m.target.setWeights(m.env, { blue: 90, green: 10 });
    expect(elbCalls(m)).toEqual([
      "DescribeListeners",
      "DescribeRules",
      "ModifyListener",
      "ModifyListener",
      "ModifyRule",
      "DescribeListeners",
      "DescribeRules",
    ]);
    for (const arn of [LISTENER, HTTPS, WS_RULE]) expect(m.fake.weights(arn)).toEqual({ blue: 90, green: 10 });
    const reads = m.fake.calls
      .filter((c) => c.action === "elasticloadbalancing:DescribeListeners")
      .map((c) => (c.input as { ListenerArns: string[] }).ListenerArns);
    expect(reads[0]).toEqual([LISTENER, HTTPS]);
    // Observing reads them all too, and reports their weights when they agree.
    expect((await m.target.observe(m.env)).weights).toEqual({ blue: 90, green: 10 });
  });

  it("a step half-applied (one listener kept its old weights) is not reached: observe reports no step's weights, and the next pass writes only the stale route", async () => {
    const m = several();
    // The HTTPS listener's write is lost (throttled past the budget, say).
    m.elb.on(ModifyListenerCommand, { ListenerArn: HTTPS }).resolves({});
    await expect(m.target.setWeights(m.env, { blue: 50, green: 50 })).rejects.toThrow(
      `The listener ${HTTPS}'s weights read back as blue 100% / green 0%, expected blue 50% / green 50%`,
    );
    const observed = await m.target.observe(m.env);
    // What every route gives each slot at least: never a step's weights while they disagree.
    expect(observed.weights).toEqual({ blue: 50, green: 0 });
    const d = snapshot({ status: "shifting", stepIndex: 1, policy: { ...defaultPolicy(true), steps: [10, 50, 100] } });
    expect(pass(d, observed)).toMatchObject({ kind: "setWeights", weights: { blue: 50, green: 50 } });
    // AWS answers again: only the stale listener is written.
    m.elb.on(ModifyListenerCommand, { ListenerArn: HTTPS }).callsFake(m.fake.modifyListener);
    const before = m.fake.calls.length;
    await m.target.setWeights(m.env, { blue: 50, green: 50 });
    expect(
      m.fake.calls
        .slice(before)
        .filter((c) => c.action.includes("Modify"))
        .map((c) => (c.input as { ListenerArn?: string }).ListenerArn),
    ).toEqual([HTTPS]);
    const now = await m.target.observe(m.env);
    expect(now.weights).toEqual({ blue: 50, green: 50 });
    expect(pass(d, now)).toMatchObject({ kind: "transition", to: "shifting", event: { kind: "step" } });
  });

  it("verifies every route, naming the one that does not forward to both target groups", async () => {
    const m = several();
    m.fake.routes.set(HTTPS, [{ Type: "forward", TargetGroupArn: TG_BLUE }]);
    const result = await verifyEcsConfigAgainstAws(m.clients, m.config);
    expect(result.problems).toEqual([
      `route: target groups not attached to the listener ${HTTPS}: green (${TG_GREEN}). Its forward action must list both target groups (weights may be 0).`,
    ]);
    expect(result.checks.filter((c) => c.check === "route")).toHaveLength(3);
  });

  describe("one of them does not exist: only the missing one is named", () => {
    const where = "(environment production of checkout)";

    it("a listener, on observe and on a weight change", async () => {
      const m = harness({ listenerArn: undefined, listenerArns: [LISTENER, HTTPS] });
      seedLiveBlue(m);
      // HTTPS was deleted; LISTENER is still there.
      const message = `listener ${HTTPS} does not exist ${where}`;
      await expect(m.target.observe(m.env)).rejects.toMatchObject({ name: "MissingResource", message });
      await expect(m.target.setWeights(m.env, { blue: 90, green: 10 })).rejects.toMatchObject({
        name: "MissingResource",
        message,
      });
      expect(m.writes()).toEqual([]);
    });

    it("a listener rule", async () => {
      const RULE_2 = WS_RULE.replace("0123456789abcdef", "fedcba9876543210");
      const m = harness({ listenerArn: undefined, listenerRuleArns: [WS_RULE, RULE_2] });
      seedLiveBlue(m, WS_RULE);
      await expect(m.target.setWeights(m.env, { blue: 90, green: 10 })).rejects.toMatchObject({
        name: "MissingResource",
        message: `listener rule ${RULE_2} does not exist ${where}`,
      });
    });

    it("says AWS did not say which when asking about each alone does not tell", async () => {
      const m = harness({ listenerArn: undefined, listenerArns: [LISTENER, HTTPS] });
      seedLiveBlue(m);
      const aws = (name: string, message: string) =>
        new ElasticLoadBalancingV2ServiceException({ name, $fault: "client", message, $metadata: {} });
      m.elb
        .on(DescribeListenersCommand)
        .rejects(aws("ThrottlingException", "Rate exceeded"))
        .on(DescribeListenersCommand, { ListenerArns: [LISTENER, HTTPS] })
        .rejects(aws("ListenerNotFoundException", "One or more listeners not found"));
      await expect(m.target.observe(m.env)).rejects.toMatchObject({
        name: "MissingResource",
        message: `one or more of the listeners ${LISTENER}, ${HTTPS} do not exist (AWS did not say which; environment production of checkout)`,
      });
    });

    it("two of three listeners: both, and only they", async () => {
      const THIRD = LISTENER.replace("f2f7dc8efc522ab2", "0badc0ffee000000");
      const m = harness({ listenerArn: undefined, listenerArns: [LISTENER, HTTPS, THIRD] });
      seedLiveBlue(m);
      await expect(m.target.observe(m.env)).rejects.toMatchObject({
        name: "MissingResource",
        message: `listeners ${HTTPS}, ${THIRD} do not exist ${where}`,
      });
    });
  });
});

describe("Application Auto Scaling", () => {
  const actions = (h: Harness) =>
    h.fake.calls
      .map((c) => c.action)
      .filter((a) => /RegisterScalableTarget|UpdateService|RegisterTaskDefinition/.test(a));

  it("scaling the new slot up copies the live slot's minimum and maximum to it first", async () => {
    seedLiveBlue(h);
    h.fake.seedScalableTarget("blue", 2, 10);
    await h.target.ensureRelease(h.env, "green", R2);
    expect(actions(h)).toEqual([
      "ecs:RegisterTaskDefinition",
      "application-autoscaling:RegisterScalableTarget",
      "ecs:UpdateService",
    ]);
    expect(h.fake.calls.find((c) => c.action === "application-autoscaling:RegisterScalableTarget")!.input).toEqual({
      ServiceNamespace: "ecs",
      ScalableDimension: "ecs:service:DesiredCount",
      ResourceId: "service/shop/checkout-green",
      MinCapacity: 2,
      MaxCapacity: 10,
    });
    expect(h.fake.scalableTarget("green")).toEqual({ min: 2, max: 10 });
  });

  it("restores a slot's minimum (set to 0 when it was scaled down) when it is scaled up to become live again", async () => {
    seedLiveBlue(h);
    h.fake.seedScalableTarget("blue", 3, 12);
    h.fake.seedScalableTarget("green", 0, 10);
    await h.target.ensureRelease(h.env, "green", R2);
    expect(h.fake.scalableTarget("green")).toEqual({ min: 3, max: 12 });
  });

  it("writes nothing to Application Auto Scaling when it manages neither slot, or the bounds already hold", async () => {
    seedLiveBlue(h);
    await h.target.ensureRelease(h.env, "green", R2);
    expect(actions(h)).toEqual(["ecs:RegisterTaskDefinition", "ecs:UpdateService"]);
    const again = harness();
    seedLiveBlue(again);
    again.fake.seedScalableTarget("blue", 2, 10);
    again.fake.seedScalableTarget("green", 2, 10);
    await again.target.ensureRelease(again.env, "green", R2);
    expect(actions(again)).toEqual(["ecs:RegisterTaskDefinition", "ecs:UpdateService"]);
  });

  it("scaling a slot to 0 first sets its minimum to 0, so Application Auto Scaling does not start its tasks again", async () => {
    seedLiveBlue(h);
    h.fake.seedScalableTarget("blue", 2, 10);
    await h.target.scale(h.env, "blue", 0);
    expect(actions(h)).toEqual(["application-autoscaling:RegisterScalableTarget", "ecs:UpdateService"]);
    expect(h.fake.scalableTarget("blue")).toEqual({ min: 0, max: 10 });
    // ECS and Application Auto Scaling go on working (each observation is a tick of the fake): it stays at 0.
    for (let i = 0; i < 5; i++) await h.target.observe(h.env);
    expect(h.fake.service("blue").desiredCount).toBe(0);
    expect((await h.target.observe(h.env)).slots.blue).toMatchObject({ desired: 0, running: 0, rollout: "stopped" });
  });

  it("lowers the minimum even when the desired count is already 0 (or Application Auto Scaling would bring it back)", async () => {
    seedLiveBlue(h);
    h.fake.seedScalableTarget("green", 2, 10);
    await h.target.scale(h.env, "green", 0);
    expect(h.fake.scalableTarget("green")).toEqual({ min: 0, max: 10 });
    expect(actions(h)).toEqual(["application-autoscaling:RegisterScalableTarget"]);
  });
});

describe("scale", () => {
  it("sets the desired count, and skips the call when it is already so", async () => {
    seedLiveBlue(h);
    await h.target.scale(h.env, "blue", 0);
    await h.target.scale(h.env, "blue", 0);
    expect(h.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: "shop", service: "checkout-blue", desiredCount: 0 },
    ]);
  });
});

describe("metrics", () => {
  // Periods 12:00 … 12:04 have ended at least metricsDelaySeconds (90) before 12:06:40.
  const window = { from: new Date("2026-11-24T12:00:30Z"), to: new Date("2026-11-24T12:06:40Z") };
  const minute = (m: number) => new Date(Date.UTC(2026, 10, 24, 12, m));

  it("asks CloudWatch per target group for requests, 5xx, connection errors, unhealthy hosts and p50/p95/p99 (per period and overall), and the load balancer's own 5xx, over the whole periods that should be published", async () => {
    h.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await h.target.metrics(h.env, window);
    const input = h.cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.StartTime).toEqual(minute(0));
    expect(input.EndTime).toEqual(minute(5));
    const byId = Object.fromEntries(input.MetricDataQueries!.map((q) => [q.Id, q.MetricStat]));
    const perSlot = ["connerrors", "errors", "p50", "p95", "p99", "pp50", "pp95", "pp99", "requests", "unhealthy"];
    expect(Object.keys(byId).sort()).toEqual(
      ["elb5xx", ...perSlot.flatMap((id) => [`${id}_blue`, `${id}_green`])].sort(),
    );
    expect(byId.connerrors_green).toMatchObject({
      Metric: { MetricName: "TargetConnectionErrorCount" },
      Period: 60,
      Stat: "Sum",
    });
    expect(byId.unhealthy_green).toMatchObject({
      Metric: { MetricName: "UnHealthyHostCount" },
      Period: 60,
      Stat: "Minimum",
    });
    expect(byId.pp95_green).toMatchObject({ Metric: { MetricName: "TargetResponseTime" }, Period: 60, Stat: "p95" });
    // The load balancer's own 5xx exist per load balancer only.
    expect(byId.elb5xx).toEqual({
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "HTTPCode_ELB_5XX_Count",
        Dimensions: [{ Name: "LoadBalancer", Value: "app/shop-alb/50dc6c495c0c9188" }],
      },
      Period: 60,
      Stat: "Sum",
    });
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
    expect(byId.errors_blue).toMatchObject({
      Metric: { MetricName: "HTTPCode_Target_5XX_Count" },
      Period: 60,
      Stat: "Sum",
    });
    expect(byId.p95_green).toMatchObject({ Metric: { MetricName: "TargetResponseTime" }, Period: 300, Stat: "p95" });
  });

  it("sums requests and errors (the task's 5xx and the connections the load balancer could not make), converts latency to milliseconds, gives each period's figures, and says complete once the last period is in", async () => {
    const periods = [0, 1, 2, 3, 4].map(minute);
    h.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "requests_green", Timestamps: periods, Values: [10, 10, 10, 10, 10], StatusCode: "Complete" },
        { Id: "errors_green", Timestamps: [minute(2)], Values: [1], StatusCode: "Complete" },
        { Id: "connerrors_green", Timestamps: [minute(3)], Values: [2], StatusCode: "Complete" },
        { Id: "p50_green", Timestamps: [minute(0)], Values: [0.04], StatusCode: "Complete" },
        { Id: "p95_green", Timestamps: [minute(0)], Values: [0.2315], StatusCode: "Complete" },
        { Id: "p99_green", Timestamps: [minute(0)], Values: [0.5], StatusCode: "Complete" },
        { Id: "pp95_green", Timestamps: [minute(1)], Values: [0.25], StatusCode: "Complete" },
        { Id: "requests_blue", Timestamps: periods, Values: [90, 90, 90, 90, 90], StatusCode: "Complete" },
      ],
    });
    const m = await h.target.metrics(h.env, window);
    expect(m.complete).toBe(true);
    expect(m.source).toBe("CloudWatch, 60 s periods");
    expect(m.signals).toEqual([]);
    const { periods: greenPeriods, ...green } = m.slots.green;
    expect(green).toEqual({ requests: 50, errors: 3, errorRate: 0.06, p50: 40, p95: 231.5, p99: 500 });
    expect(greenPeriods!.map((p) => [p.at.toISOString().slice(11, 16), p.requests, p.errors, p.p95])).toEqual([
      ["12:00", 10, 0, null],
      ["12:01", 10, 0, 250],
      ["12:02", 10, 1, null],
      ["12:03", 10, 2, null],
      ["12:04", 10, 0, null],
    ]);
    expect(greenPeriods!.every((p) => p.seconds === 60)).toBe(true);
    expect(m.slots.blue).toMatchObject({ requests: 450, errors: 0, errorRate: 0, p50: null, p95: null, p99: null });
  });

  it("reports the new slot's target group with an unhealthy host for a whole period, and only the new slot's", async () => {
    const periods = [0, 1, 2, 3, 4].map(minute);
    h.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "requests_green", Timestamps: periods, Values: [10, 10, 10, 10, 10], StatusCode: "Complete" },
        { Id: "requests_blue", Timestamps: periods, Values: [90, 90, 90, 90, 90], StatusCode: "Complete" },
        // Minimum per period: 0 means some moment of the period had every host healthy.
        { Id: "unhealthy_green", Timestamps: periods, Values: [0, 0, 2, 1, 0], StatusCode: "Complete" },
        { Id: "unhealthy_blue", Timestamps: periods, Values: [1, 1, 1, 1, 1], StatusCode: "Complete" },
      ],
    });
    const m = await h.target.metrics(h.env, { ...window, newSlot: "green" });
    expect(m.signals).toEqual([
      {
        kind: "unhealthy_hosts",
        detail:
          "green's target group had 2 unhealthy hosts for a whole 60 s period from 12:02 UTC (UnHealthyHostCount; 2 periods in this window)",
        observed: 2,
        threshold: 0,
      },
    ]);
    // The gates fail the step on it, naming it.
    const gates = judge(defaultPolicy(true).gates, {
      green: m.slots.green,
      live: m.slots.blue,
      baseline: null,
      complete: m.complete,
      signals: m.signals,
      bakeOver: false,
      slots: { new: "green", live: "blue" },
    });
    expect(gates[0]).toMatchObject({
      gate: "target_signals",
      outcome: "fail",
      detail: expect.stringContaining("unhealthy hosts"),
    });
    // With blue as the new slot, blue's own hosts are what counts.
    expect((await h.target.metrics(h.env, { ...window, newSlot: "blue" })).signals?.map((s) => s.kind)).toEqual([
      "unhealthy_hosts",
    ]);
    const healthy = await h.target.metrics(h.env, window);
    expect(healthy.signals).toEqual([]);
  });

  it("says incomplete while CloudWatch has no datapoints yet, so the gates wait instead of passing on no data", async () => {
    h.cw
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: "requests_green", Timestamps: [], Values: [], StatusCode: "Complete" }] });
    const m = await h.target.metrics(h.env, window);
    expect(m.complete).toBe(false);
    const gates = judge(defaultPolicy(true).gates, {
      green: m.slots.green,
      live: m.slots.blue,
      baseline: null,
      complete: m.complete,
      bakeOver: true,
      slots: { new: "green", live: "blue" },
    });
    expect(gates.map((g) => g.outcome)).toEqual(["waiting", "waiting", "waiting", "waiting", "waiting"]);
    expect(gates[0]!.detail).toBe("waiting for metrics: the target's data for this period is not all in yet");
    // decide() waits with that reason once the bake is over.
    const d = snapshot({ status: "shifting", stepReachedAt: new Date(NOW.getTime() - 3600_000) });
    seedLiveBlue(h);
    h.fake.seedRoute(LISTENER, { blue: 90, green: 10 });
    const observed = await h.target.observe(h.env);
    expect(decide(d, { observed, gates, metrics: m, now: NOW })).toMatchObject({
      kind: "wait",
      reason: "waiting for metrics: the target's data for this period is not all in yet",
    });
  });

  it("says incomplete while a slot's last period is missing (a late datapoint), even with earlier data", async () => {
    h.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: "requests_green",
          Timestamps: [0, 1, 2, 3].map(minute),
          Values: [10, 10, 10, 10],
          StatusCode: "Complete",
        },
        {
          Id: "requests_blue",
          Timestamps: [0, 1, 2, 3, 4].map(minute),
          Values: [90, 90, 90, 90, 90],
          StatusCode: "Complete",
        },
      ],
    });
    expect((await h.target.metrics(h.env, window)).complete).toBe(false);
  });

  it("judges a step on the periods that began once it was reached, while the charts take every period the window touches", async () => {
    h.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await h.target.metrics(h.env, { ...window, newSlot: "green" });
    await h.target.metrics(h.env, window);
    const [step, chart] = h.cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    // Reached at 12:00:30: the 12:00 period also holds the split before the step.
    expect(step).toMatchObject({ StartTime: minute(1), EndTime: minute(5) });
    expect(chart).toMatchObject({ StartTime: minute(0), EndTime: minute(5) });
  });

  it("asks only for periods that ended metricsDelaySeconds ago, and makes no call before there is one", async () => {
    const early = { from: new Date("2026-11-24T12:00:05Z"), to: new Date("2026-11-24T12:01:20Z") };
    const m = await h.target.metrics(h.env, early);
    expect(m.complete).toBe(false);
    expect(h.cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
    const eager = harness({ metricsDelaySeconds: 0 });
    eager.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: "requests_green", Timestamps: [minute(0)], Values: [3], StatusCode: "Complete" }],
    });
    const n = await eager.target.metrics(eager.env, early);
    expect(eager.cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input).toMatchObject({
      StartTime: minute(0),
      EndTime: minute(1),
    });
    expect(n).toMatchObject({ complete: true, slots: { green: { requests: 3 } } });
  });

  it("attributes the load balancer's own 5xx to the new slot when they rose with its share, asking for the periods before the step only then", async () => {
    // Green runs 1.1.0, whose tasks crash under load: the load balancer answers 5% of green's requests with 502 itself.
    seedLiveBlue(h);
    const td = h.fake.seedTaskDefinition(sampleTaskDefinition("checkout", R2.artifact), [
      { key: RELEASE_ID_TAG, value: R2.id },
    ]);
    h.fake.seedService("green", td, 2);
    h.fake.behave(R2.artifact, { errorRate: 0, p95Ms: 80, loadBalancerErrorRate: 0.05 });
    await h.target.setWeights(h.env, { blue: 50, green: 50 }); // at 12:05:10
    const step = { from: NOW, to: new Date("2026-11-24T12:12:00Z"), newSlot: "green" as const };
    const m = await h.target.metrics(h.env, step);
    const calls = h.cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    // The second call: the five periods before the step, for the load balancer's rate then.
    expect(calls[1]).toMatchObject({ StartTime: minute(0), EndTime: minute(5) });
    expect(calls[1]!.MetricDataQueries!.map((q) => q.Id).sort()).toEqual(["elb5xx", "requests_blue", "requests_green"]);
    // 600 requests a minute, half on green, for the periods 12:06 … 12:09: the period the step was
    // reached in (12:05, reached at 12:05:10) is neither the step's nor the baseline's.
    expect(m.slots.green.requests).toBe(1200);
    expect(m.signals).toEqual([
      {
        kind: "load_balancer_errors",
        detail:
          "the load balancer answered 60 5xx itself (HTTPCode_ELB_5XX_Count) while green's share rose, 60 more than its rate before the step (0%) predicts; at least 12 (1% of green's 1200 requests) fail the step",
        observed: 60,
        threshold: 12,
      },
    ]);
    // Not the new slot's errors as the task counted them: the load balancer's, reported as what it is.
    expect(m.slots.green.errors).toBe(0);
  });

  it("asks once when the load balancer answered no 5xx", async () => {
    seedLiveBlue(h);
    await h.target.setWeights(h.env, { blue: 90, green: 10 });
    const m = await h.target.metrics(h.env, { from: NOW, to: new Date("2026-11-24T12:12:00Z"), newSlot: "green" });
    expect(h.cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    expect(m.signals).toEqual([]);
  });

  it("asks for the listed alarms only while a step is judged, and each one in ALARM is a signal naming it, even before a period is in", async () => {
    const a = harness({ alarmNames: ["checkout-latency", "checkout-5xx"] });
    seedLiveBlue(a);
    a.fake.setAlarm("checkout-latency", "OK");
    a.fake.setAlarm("checkout-5xx", "ALARM", "Threshold Crossed: 3 datapoints were greater than the threshold (10.0).");
    // The charts' read of the same window (no new slot): no alarm call.
    await a.target.metrics(a.env, window);
    expect(a.fake.calls.filter((c) => c.action === "cloudwatch:DescribeAlarms")).toHaveLength(0);
    const early = { from: new Date("2026-11-24T12:05:00Z"), to: NOW, newSlot: "green" as const };
    const m = await a.target.metrics(a.env, early);
    expect(m.complete).toBe(false);
    expect(m.signals).toEqual([
      {
        kind: "alarm",
        detail:
          "alarm checkout-5xx is in ALARM since 12:05:10 UTC: Threshold Crossed: 3 datapoints were greater than the threshold (10.0).",
      },
    ]);
    const gates = judge(defaultPolicy(true).gates, {
      green: m.slots.green,
      live: m.slots.blue,
      baseline: null,
      complete: m.complete,
      signals: m.signals,
      bakeOver: false,
      slots: { new: "green", live: "blue" },
    });
    expect(gates[0]).toMatchObject({
      gate: "target_signals",
      outcome: "fail",
      detail:
        "alarm checkout-5xx is in ALARM since 12:05:10 UTC: Threshold Crossed: 3 datapoints were greater than the threshold (10.0).",
    });
    a.fake.setAlarm("checkout-5xx", "OK");
    expect((await a.target.metrics(a.env, early)).signals).toEqual([]);
  });

  it("refuses to judge a step on an alarm that does not exist, naming it", async () => {
    const a = harness({ alarmNames: ["checkout-latency", "chekout-5xx"] });
    seedLiveBlue(a);
    a.fake.setAlarm("checkout-latency", "OK");
    await expect(a.target.metrics(a.env, { ...window, newSlot: "green" })).rejects.toMatchObject({
      name: "MissingResource",
      message: "alarm chekout-5xx does not exist (environment production of checkout; see the alarm names)",
    });
  });

  it("follows NextToken across pages", async () => {
    const periods = [0, 1, 2, 3, 4].map(minute);
    h.cw
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: "requests_green", Timestamps: periods.slice(0, 3), Values: [1, 1, 1], StatusCode: "PartialData" },
        ],
        NextToken: "t1",
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: "requests_green", Timestamps: periods.slice(3), Values: [1, 1], StatusCode: "Complete" },
        ],
      });
    const m = await h.target.metrics(h.env, window);
    expect(m.slots.green.requests).toBe(5);
    expect(m.complete).toBe(true);
    expect(h.cw.commandCalls(GetMetricDataCommand)[1]!.args[0].input.NextToken).toBe("t1");
  });

  it("fails loudly when CloudWatch refuses (a missing permission is not 'no data')", async () => {
    h.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "requests_green", StatusCode: "Forbidden", Messages: [{ Code: "Forbidden", Value: "not authorized" }] },
      ],
    });
    await expect(h.target.metrics(h.env, window)).rejects.toThrow(
      "CloudWatch answered Forbidden for requests_green: not authorized",
    );
  });
});

describe("slotUrl", () => {
  it("is the configured smoke-test URL of the slot", async () => {
    expect(await h.target.slotUrl(h.env, "green")).toBe("https://green.checkout.test");
  });

  it("says smoke tests on ECS need one when none is configured", async () => {
    const r = harness({ smokeTestBaseUrls: undefined });
    await expect(r.target.slotUrl(r.env, "green")).rejects.toThrow(
      /Smoke tests on ECS need a URL that reaches the green slot directly: set smokeTestBaseUrls\.green/,
    );
  });

  it("points the test listener at the slot under test first (once)", async () => {
    const r = harness({
      testListenerArn: TEST_LISTENER,
      smokeTestBaseUrls: { blue: "https://shop.test:8443", green: "https://shop.test:8443" },
    });
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
    new ElasticLoadBalancingV2ServiceException({
      name: "ThrottlingException",
      $fault: "client",
      message: "Rate exceeded",
      $metadata: { httpStatusCode: 400, attempts: 5 },
    });
  const shifting = snapshot({ status: "shifting", stepIndex: 0, stepReachedAt: null });
  const tenPercent: Weights = { blue: 90, green: 10 };

  it("the change never reached AWS: the error propagates, the next pass observes the old weights and sets them again", async () => {
    seedLiveBlue(h);
    h.elb.on(ModifyListenerCommand).rejectsOnce(throttled()).callsFake(h.fake.modifyListener);
    await expect(h.target.setWeights(h.env, tenPercent)).rejects.toThrow("Rate exceeded");
    const observed = await h.target.observe(h.env);
    expect(observed.weights).toEqual({ blue: 100, green: 0 });
    expect(pass(shifting, observed)).toMatchObject({ kind: "setWeights", weights: tenPercent });
    await h.target.setWeights(h.env, tenPercent);
    const after = await h.target.observe(h.env);
    expect(after.weights).toEqual(tenPercent);
    expect(pass(shifting, after)).toMatchObject({ kind: "transition", to: "shifting", patch: { stepReachedAt: NOW } });
  });

  it("the change reached AWS but the read-back failed: the next pass observes the new weights and writes nothing", async () => {
    seedLiveBlue(h);
    h.elb
      .on(DescribeListenersCommand)
      .callsFakeOnce(h.fake.describeListeners)
      .rejectsOnce(throttled())
      .callsFake(h.fake.describeListeners);
    await expect(h.target.setWeights(h.env, tenPercent)).rejects.toThrow("Rate exceeded");
    const observed = await h.target.observe(h.env);
    expect(observed.weights).toEqual(tenPercent);
    expect(pass(shifting, observed).kind).toBe("transition");
    await h.target.setWeights(h.env, tenPercent); // even if asked again: no write
    expect(h.elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
  });

  it("an ECS write that failed is retried the same way (nothing registered twice once it took)", async () => {
    seedLiveBlue(h);
    h.ecs
      .on(UpdateServiceCommand)
      .rejectsOnce(
        new ECSServiceException({
          name: "ServerException",
          $fault: "server",
          message: "Service Unavailable",
          $metadata: { httpStatusCode: 503 },
        }),
      )
      .callsFake(h.fake.updateService);
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
    expect(result.problems).toEqual([
      `route: target groups not attached to the listener: green (${TG_GREEN}). Its forward action must list both target groups (weights may be 0).`,
    ]);
  });

  it("says which service does not exist in the cluster", async () => {
    seedLiveBlue(h);
    h.fake.services.delete("checkout-blue");
    const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
    expect(result.problems).toEqual([
      "blue service: service checkout-blue does not exist in cluster shop (the configuration being checked)",
    ]);
  });

  it.each<[string, Partial<Service>, string]>([
    [
      "the LINEAR strategy",
      {
        deploymentConfiguration: {
          strategy: "LINEAR",
          linearConfiguration: { stepPercent: 10, stepBakeTimeInMinutes: 5 },
        },
      },
      "green service: service \"checkout-green\" has deploymentConfiguration.strategy LINEAR: ECS shifts the listener's traffic itself, which would fight the panel's shift; set it to ROLLING",
    ],
    [
      "the CANARY strategy",
      { deploymentConfiguration: { strategy: "CANARY" } },
      'green service: service "checkout-green" has deploymentConfiguration.strategy CANARY: ECS shifts',
    ],
    [
      "the BLUE_GREEN strategy",
      { deploymentConfiguration: { strategy: "BLUE_GREEN", bakeTimeInMinutes: 10 } },
      'green service: service "checkout-green" has deploymentConfiguration.strategy BLUE_GREEN: ECS shifts',
    ],
    [
      "the CODE_DEPLOY controller",
      { deploymentController: { type: "CODE_DEPLOY" } },
      "green service: service \"checkout-green\" uses the CODE_DEPLOY deployment controller (deploymentController.type): CodeDeploy shifts the listener's traffic itself, which would fight the panel's shift; the panel needs the ECS controller with the ROLLING strategy",
    ],
    [
      "an alternate target group for ECS's own blue/green",
      {
        loadBalancers: [
          {
            targetGroupArn: TG_GREEN,
            containerName: "app",
            containerPort: 8080,
            advancedConfiguration: {
              alternateTargetGroupArn: TG_BLUE,
              productionListenerRule: RULE,
              roleArn: "arn:aws:iam::123456789012:role/ecs-bg",
            },
          },
        ],
      },
      `green service: service "checkout-green" has loadBalancers[0].advancedConfiguration (alternate target group ${TG_BLUE}): ECS would shift the listener's traffic itself`,
    ],
  ])(
    "refuses a service with %s, naming the service and the setting, and ensureRelease refuses to start it",
    async (_what, settings, problem) => {
      seedLiveBlue(h);
      h.fake.service("green").settings = settings;
      const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
      expect(result.ok).toBe(false);
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toContain(problem);
      // Verifying wrote nothing.
      expect(h.writes()).toEqual([]);
      // The driver never sends the UpdateService that would start ECS's own shift.
      await expect(h.target.ensureRelease(h.env, "green", R2)).rejects.toThrow(
        `Not deploying 1.1.0 to green: ${problem.slice("green service: ".length)}`,
      );
      expect(h.writes()).toEqual([]);
    },
  );

  it("checks that the listed alarms exist, and warns of one in ALARM now", async () => {
    const a = harness({ alarmNames: ["checkout-latency", "checkout-5xx", "gone"] });
    seedLiveBlue(a);
    a.fake.setAlarm("checkout-latency", "ALARM");
    a.fake.setAlarm("checkout-5xx", "OK");
    const result = await verifyEcsConfigAgainstAws(a.clients, a.config, "environment production of checkout");
    expect(result.problems).toEqual([
      "alarms: alarm gone does not exist (environment production of checkout; see the alarm names)",
    ]);
    a.fake.setAlarm("gone", "OK");
    const again = await verifyEcsConfigAgainstAws(a.clients, a.config, "environment production of checkout");
    expect(again.ok).toBe(true);
    expect(again.checks.filter((c) => c.check === "alarms").map((c) => [c.level, c.detail])).toEqual([
      ["ok", "3 alarms found: checkout-latency (ALARM), checkout-5xx (OK), gone (OK)"],
      ["warning", "checkout-latency is in ALARM now: a deployment's first step would fail"],
    ]);
  });

  it("says when a listener cannot be read", async () => {
    seedLiveBlue(h);
    h.elb.on(DescribeListenersCommand).rejects(
      new ElasticLoadBalancingV2ServiceException({
        name: "ListenerNotFoundException",
        $fault: "client",
        message: "One or more listeners not found",
        $metadata: {},
      }),
    );
    const result = await verifyEcsConfigAgainstAws(h.clients, h.config);
    expect(result.problems[0]).toBe(`route: listener ${LISTENER} does not exist (the configuration being checked)`);
  });
});

describe("planEcsDeployment", () => {
  it("lists the AWS calls in order, with the resources they touch, and the rollback path", () => {
    const plan = planEcsDeployment(h.config, { liveSlot: "blue", release: R2, steps: [10, 50, 100], smokeTests: 2 });
    expect(plan.targetSlot).toBe("green");
    const writes = plan.calls.filter((c) => c.write).map((c) => `${c.action} ${c.resources[0]}`);
    expect(writes).toEqual([
      "RegisterTaskDefinition checkout-blue's task definition family",
      "RegisterScalableTarget service/shop/checkout-green",
      "UpdateService checkout-green",
      `ModifyListener ${LISTENER}`,
      `ModifyListener ${LISTENER}`,
      `ModifyListener ${LISTENER}`,
      "RegisterScalableTarget service/shop/checkout-blue",
      "UpdateService checkout-blue",
    ]);
    const steps = plan.calls.filter((c) => c.action === "ModifyListener").map((c) => c.detail);
    expect(steps[0]).toBe("forward: blue weight 90, green weight 10; stickiness on, 3600 s");
    expect(steps[2]).toBe("forward: blue weight 0, green weight 100; stickiness off (all traffic on one slot)");
    expect(plan.calls.filter((c) => c.action === "GetMetricData").map((c) => c.phase)).toEqual([
      "Step 1 of 3: 10% on green",
      "Step 2 of 3: 50% on green",
      "Step 3 of 3: 100% on green",
      "Validate at 100%",
    ]);
    expect(plan.rollback.filter((c) => c.write).map((c) => `${c.action} ${c.detail}`)).toEqual([
      "ModifyListener forward: blue weight 100, green weight 0; stickiness off, so clients stuck to green follow",
      "RegisterScalableTarget MinCapacity → 0",
      "UpdateService desiredCount → 0",
    ]);
  });
});
