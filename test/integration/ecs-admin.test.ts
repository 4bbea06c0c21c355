/**
 * The ECS target's settings and views over a real (PGlite) database and mocked AWS clients:
 * configuring an environment is validated (400 naming the field, nothing changed) and audited in the
 * same transaction; a deployment never starts on an environment whose configuration does not
 * validate; the plan and scaling views.
 */
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { DescribeListenersCommand, DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor, type Actor } from "../../server/audit/actor.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { DomainError } from "../../server/errors.ts";
import { startDeployment } from "../../server/releases/commands.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import {
  configureEcsTarget,
  ecsDeploymentPlan,
  ecsScaling,
  ecsTargetConfig,
  verifyEcsEnvironment,
} from "../../server/environments/ecs-settings.ts";
import { createEcsClients } from "../../server/targets/ecs/clients.ts";
import { RELEASE_ID_TAG, validateEcsConfig } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import { FakeAws, sampleEcsConfigInput, sampleTaskDefinition, LISTENER, TG_GREEN } from "../helpers/fake-aws.ts";
import type { LocalTarget } from "../../server/targets/local/local-target.ts";
import { createTargetRegistry } from "../../server/targets/registry.ts";
import pino from "pino";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";

const CONFIG = sampleEcsConfigInput({
  cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop",
  smokeTestBaseUrls: { blue: "https://blue.checkout.test", green: "https://green.checkout.test" },
  pollIntervalMs: 0,
});

const admin: Actor = { userId: null, email: "admin@example.test", roles: ["admin"], ip: "127.0.0.1", traceId: "t-1" };
let db: TestDatabase;
let environmentId: string;
let releaseId: string;
let liveReleaseId: string;
let ecs: EcsTarget;
let fake: FakeAws;
let autoscaling: AwsClientStub<ApplicationAutoScalingClient>;

beforeAll(async () => {
  db = await openTestDatabase();
  const service = await db.prisma.service.create({ data: { slug: "checkout", name: "Checkout" } });
  liveReleaseId = (
    await db.prisma.release.create({ data: { serviceId: service.id, version: "1.0.0", artifact: "checkout:1.0.0" } })
  ).id;
  releaseId = (
    await db.prisma.release.create({ data: { serviceId: service.id, version: "1.1.0", artifact: "checkout:1.1.0" } })
  ).id;
  const env = await db.prisma.environment.create({
    data: {
      serviceId: service.id,
      name: "production",
      position: 0,
      production: true,
      policy: defaultPolicy(true),
      alertThresholds: DEFAULT_ALERT_THRESHOLDS,
      liveReleaseId,
    },
  });
  environmentId = env.id;

  const parsed = validateEcsConfig(CONFIG);
  if (!parsed.ok) throw new Error(parsed.error);
  fake = new FakeAws(parsed.config);
  const td = fake.seedTaskDefinition(sampleTaskDefinition("checkout", "checkout:1.0.0"), [
    { key: RELEASE_ID_TAG, value: liveReleaseId },
  ]);
  fake.seedService("blue", td, 3);
  fake.seedService("green", td, 0);
  fake.seedRoute(LISTENER, { blue: 100, green: 0 });
  const clients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry });
  const e = mockClient(clients.ecs);
  const l = mockClient(clients.elb);
  e.on(DescribeServicesCommand).callsFake(fake.describeServices);
  e.on(DescribeTaskDefinitionCommand).callsFake(fake.describeTaskDefinition);
  l.on(DescribeListenersCommand).callsFake(fake.describeListeners);
  l.on(DescribeTargetHealthCommand).callsFake(fake.describeTargetHealth);
  autoscaling = mockClient(clients.autoscaling);
  ecs = new EcsTarget({ clients: () => clients });
});

afterAll(() => db?.close());

const auditActions = async () =>
  (await db.prisma.auditEvent.findMany({ orderBy: { seq: "asc" } })).map((a) => a.action);

describe("configuring an environment's ECS target", () => {
  it("refuses a bad configuration with a 400 naming the field, and changes nothing", async () => {
    const before = await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } });
    const audits = await auditActions();
    const error = await configureEcsTarget(db.prisma, admin, {
      environmentId,
      config: { ...CONFIG, listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123:listener/x" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ kind: "invalid", field: "config" });
    expect((error as Error).message).toMatch(/^Listener ARN: must be an Application Load Balancer listener ARN/);
    const both = await configureEcsTarget(db.prisma, admin, {
      environmentId,
      config: { ...CONFIG, listenerRuleArn: LISTENER.replace("listener/", "listener-rule/") + "/9683b2d02a6cabee" },
    }).catch((e: Error) => e.message);
    expect(both).toBe(
      "Listener rule ARN: give either a listener ARN or a listener rule ARN, not both (to shift a listener's default action and a rule together, list them under listener ARNs and listener rule ARNs)",
    );
    const after = await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } });
    expect(after).toEqual(before);
    expect(await auditActions()).toEqual(audits);
  });

  it("a deployment never starts while the configuration does not validate", async () => {
    await db.prisma.environment.update({
      where: { id: environmentId },
      data: { target: "ecs", targetConfig: { ...CONFIG, containerName: undefined } },
    });
    const registry = createTargetRegistry({
      local: {} as LocalTarget,
      prisma: db.prisma,
      log: pino({ level: "silent" }),
      ecs,
    });
    const error = await startDeployment(
      db.prisma,
      systemActor(),
      { releaseId, environmentId },
      { validateTarget: (kind, cfg) => registry.validateConfig(kind as "ecs", cfg) },
    ).catch((e: DomainError) => e);
    expect(error).toMatchObject({
      kind: "conflict",
      message: "The production target configuration is invalid: Container name: is required",
      field: "environmentId",
    });
    expect(await db.prisma.deployment.count()).toBe(0);
  });

  it("stores a valid configuration with its defaults, sets the target to ECS, and audits both in the same transaction", async () => {
    await db.prisma.environment.update({ where: { id: environmentId }, data: { target: "local", targetConfig: {} } });
    const env = await configureEcsTarget(db.prisma, admin, { environmentId, config: CONFIG });
    expect(env.target).toBe("ecs");
    expect(env.targetConfig).toMatchObject({
      ...CONFIG,
      stickinessSeconds: 3600,
      metricsPeriodSeconds: 60,
      retry: { maxAttempts: 5 },
    });
    const event = await db.prisma.auditEvent.findFirstOrThrow({
      where: { action: "environment.target_configured" },
      orderBy: { seq: "desc" },
    });
    expect(event).toMatchObject({
      entityType: "Environment",
      entityId: environmentId,
      actorEmail: "admin@example.test",
      before: { target: "local", targetConfig: {} },
      after: { target: "ecs" },
    });
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
    expect(await ecsTargetConfig(db.prisma, environmentId)).toMatchObject({
      target: "ecs",
      problem: null,
      config: { listenerArn: LISTENER },
    });
  });

  it("refuses to change the target while a deployment is active", async () => {
    const d = await startDeployment(db.prisma, systemActor(), { releaseId, environmentId }, {});
    const error = await configureEcsTarget(db.prisma, admin, { environmentId, config: CONFIG }).then(
      () => null,
      (e: DomainError) => e,
    );
    expect(error).toMatchObject({ kind: "conflict" });
    expect(error?.message).toMatch(/has an active deployment \(preparing\)/);
    await db.prisma.deployment.update({ where: { id: d.id }, data: { status: "aborted", activeEnvironmentId: null } });
  });
});

describe("views", () => {
  it("plans the AWS calls of deploying a release here", async () => {
    const plan = await ecsDeploymentPlan(db.prisma, { environmentId, releaseId });
    expect(plan).toMatchObject({
      liveSlot: "blue",
      targetSlot: "green",
      steps: [10, 50, 100],
      release: { version: "1.1.0" },
    });
    expect(plan.calls.find((c) => c.action === "RegisterTaskDefinition")!.detail).toContain(
      'container "app" image → checkout:1.1.0',
    );
    expect(plan.calls.filter((c) => c.action === "ModifyListener")).toHaveLength(3);
  });

  it("shows tasks per slot, and Application Auto Scaling where it is configured", async () => {
    autoscaling.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ServiceNamespace: "ecs",
          ResourceId: "service/shop/checkout-blue",
          ScalableDimension: "ecs:service:DesiredCount",
          MinCapacity: 2,
          MaxCapacity: 10,
          RoleARN:
            "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
          CreationTime: new Date(),
          SuspendedState: {
            DynamicScalingInSuspended: true,
            DynamicScalingOutSuspended: false,
            ScheduledScalingSuspended: false,
          },
        },
      ],
    });
    autoscaling.on(DescribeScalingPoliciesCommand, { ResourceId: "service/shop/checkout-blue" }).resolves({
      ScalingPolicies: [
        {
          PolicyARN: "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:1",
          PolicyName: "cpu60",
          ServiceNamespace: "ecs",
          ResourceId: "service/shop/checkout-blue",
          ScalableDimension: "ecs:service:DesiredCount",
          PolicyType: "TargetTrackingScaling",
          CreationTime: new Date(),
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 60,
            PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" },
          },
        },
      ],
    });
    autoscaling
      .on(DescribeScalingPoliciesCommand, { ResourceId: "service/shop/checkout-green" })
      .resolves({ ScalingPolicies: [] });
    const view = await ecsScaling(db.prisma, ecs, environmentId);
    expect(autoscaling.commandCalls(DescribeScalableTargetsCommand)[0]!.args[0].input).toEqual({
      ServiceNamespace: "ecs",
      ScalableDimension: "ecs:service:DesiredCount",
      ResourceIds: ["service/shop/checkout-blue", "service/shop/checkout-green"],
    });
    expect(view.slots.blue).toMatchObject({
      service: "checkout-blue",
      state: { desired: 3, running: 3, pending: 0, rollout: "steady" },
      autoScaling: {
        min: 2,
        max: 10,
        suspended: { scaleIn: true, scaleOut: false },
        policies: [
          { name: "cpu60", type: "TargetTrackingScaling", targetValue: 60, metric: "ECSServiceAverageCPUUtilization" },
        ],
      },
    });
    expect(view.slots.green).toMatchObject({ state: { desired: 0, rollout: "stopped" }, autoScaling: null });
    expect(view.weights).toEqual({ blue: 100, green: 0 });
  });

  it("verifies a candidate configuration against AWS before it is saved", async () => {
    const ok = await verifyEcsEnvironment(db.prisma, ecs, { environmentId });
    expect(ok).toMatchObject({ ok: true, problems: [] });
    fake.routes.set(LISTENER, [{ Type: "forward", TargetGroupArn: TG_GREEN }]);
    const bad = await verifyEcsEnvironment(db.prisma, ecs, { environmentId, config: CONFIG });
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toMatch(/^route: target groups not attached to the listener: blue/);
    await expect(
      verifyEcsEnvironment(db.prisma, ecs, { environmentId, config: { ...CONFIG, region: "mars-1" } }),
    ).rejects.toMatchObject({ message: "Region: must be an AWS region such as eu-west-1", field: "config" });
  });

  it("names a listener that does not exist, with the environment, and a failed verification changes nothing", async () => {
    const before = await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } });
    const audits = await auditActions();
    const calls = fake.calls.length;
    const saved = fake.routes.get(LISTENER)!;
    fake.routes.delete(LISTENER);
    try {
      const result = await verifyEcsEnvironment(db.prisma, ecs, { environmentId, config: CONFIG });
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([
        `route: listener ${LISTENER} does not exist (environment production of checkout)`,
      ]);
    } finally {
      fake.routes.set(LISTENER, saved);
    }
    expect(await db.prisma.environment.findUniqueOrThrow({ where: { id: environmentId } })).toEqual(before);
    expect(await auditActions()).toEqual(audits);
    expect(fake.calls.slice(calls).every((c) => /:Describe/.test(c.action))).toBe(true);
  });
});
