/**
 * The ECS target's views and settings for the panel: configure an environment (audited in the same
 * transaction), verify its configuration against AWS, the AWS calls a deployment will make, and
 * the scaling view (tasks per slot, and Application Auto Scaling where configured; read-only).
 * Domain code: routers call these (server/trpc/routers/targets.ts).
 */
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  type ScalableTarget,
  type ScalingPolicy,
} from "@aws-sdk/client-application-auto-scaling";
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { conflict, DomainError, notFound, preconditionFailed } from "../errors.ts";
import { effectiveSteps } from "../releases/plan.ts";
import { readPolicy } from "../releases/policy.ts";
import { SLOTS, type EnvironmentRef, type Slot, type SlotState } from "../targets/driver.ts";
import { scalableResourceId, validateEcsConfig, type EcsConfig } from "../targets/ecs/config.ts";
import { environmentWhere, type EcsTarget } from "../targets/ecs/ecs-target.ts";
import { planEcsDeployment, type EcsPlan } from "../targets/ecs/plan.ts";
import { verifyEcsConfigAgainstAws, type VerifyResult } from "../targets/ecs/verify.ts";

const environmentId = z.string().uuid("must be an environment id");

export const configureEcsInput = z.object({ environmentId, config: z.unknown() });
export const environmentInput = z.object({ environmentId });
export const verifyEcsInput = z.object({ environmentId, config: z.unknown().optional() });
export const planInput = z.object({
  environmentId,
  releaseId: z.string().uuid("must be a release id"),
  /** When given, the deployment's own policy and slots (a deployment keeps the policy it started with). */
  deploymentId: z.string().uuid("must be a deployment id").optional(),
});

const json = (value: unknown) => value as Prisma.InputJsonValue;

function parsedOrInvalid(raw: unknown): { config: EcsConfig; stored: unknown } {
  const result = validateEcsConfig(raw);
  if (!result.ok) throw new DomainError("invalid", result.error, "config");
  return { config: result.config, stored: result.stored };
}

async function loadEnvironment(prisma: PrismaClient, id: string) {
  const env = await prisma.environment.findUnique({ where: { id }, include: { service: true } });
  if (!env) throw notFound(`Environment ${id}`);
  return env;
}

function ecsConfigOf(env: { name: string; target: string; targetConfig: unknown }): EcsConfig {
  if (env.target !== "ecs")
    throw preconditionFailed(`The environment ${env.name} runs on the ${env.target} target, not ECS`, "environmentId");
  const result = validateEcsConfig(env.targetConfig);
  if (!result.ok)
    throw preconditionFailed(`The ${env.name} ECS configuration is invalid: ${result.error}`, "environmentId");
  return result.config;
}

/** Sets an environment's target to ECS with this configuration (nothing changes on a bad one). */
export async function configureEcsTarget(prisma: PrismaClient, actor: Actor, input: z.infer<typeof configureEcsInput>) {
  const { stored } = parsedOrInvalid(input.config);
  return prisma.$transaction(async (tx) => {
    const before = await tx.environment.findUnique({ where: { id: input.environmentId } });
    if (!before) throw notFound(`Environment ${input.environmentId}`);
    const active = await tx.deployment.findUnique({ where: { activeEnvironmentId: before.id } });
    if (active)
      throw conflict(
        `The environment ${before.name} has an active deployment (${active.status.replace(/_/g, " ")}); change its target after it finishes`,
        "environmentId",
      );
    const after = await tx.environment.update({
      where: { id: before.id },
      data: { target: "ecs", targetConfig: json(stored) },
    });
    await recordAudit(tx, actor, {
      action: "environment.target_configured",
      entityType: "Environment",
      entityId: before.id,
      before: { target: before.target, targetConfig: before.targetConfig },
      after: { target: after.target, targetConfig: stored },
    });
    return after;
  });
}

/** The stored configuration, for the settings form (ARNs and URLs; nothing secret). */
export async function ecsTargetConfig(prisma: PrismaClient, id: string) {
  const env = await loadEnvironment(prisma, id);
  const result = env.target === "ecs" ? validateEcsConfig(env.targetConfig) : null;
  return {
    environmentId: env.id,
    target: env.target,
    config: env.target === "ecs" ? env.targetConfig : null,
    problem: result && !result.ok ? result.error : null,
  };
}

/** Checks the stored configuration, or a candidate one before it is saved, against AWS. */
export async function verifyEcsEnvironment(
  prisma: PrismaClient,
  ecs: EcsTarget,
  input: z.infer<typeof verifyEcsInput>,
): Promise<VerifyResult> {
  const env = await loadEnvironment(prisma, input.environmentId);
  const config = input.config !== undefined ? parsedOrInvalid(input.config).config : ecsConfigOf(env);
  return verifyEcsConfigAgainstAws(
    ecs.clients(config),
    config,
    environmentWhere({ name: env.name, serviceSlug: env.service.slug }),
  );
}

/** The AWS calls deploying a release to this environment would make, in order. */
export async function ecsDeploymentPlan(
  prisma: PrismaClient,
  input: z.infer<typeof planInput>,
): Promise<EcsPlan & { release: { id: string; version: string; artifact: string } }> {
  const env = await loadEnvironment(prisma, input.environmentId);
  const config = ecsConfigOf(env);
  const release = await prisma.release.findUnique({ where: { id: input.releaseId } });
  if (!release || release.serviceId !== env.serviceId)
    throw notFound(`Release ${input.releaseId} of ${env.service.name}`);
  let liveSlot: Slot = env.liveSlot;
  let policy = readPolicy(env.policy, env.production);
  let fromReleaseId = env.liveReleaseId;
  if (input.deploymentId) {
    const d = await prisma.deployment.findUnique({ where: { id: input.deploymentId } });
    if (!d || d.environmentId !== env.id || d.releaseId !== release.id)
      throw notFound(`Deployment ${input.deploymentId} of ${release.version} in ${env.name}`);
    liveSlot = d.fromSlot;
    policy = readPolicy(d.policy, env.production);
    fromReleaseId = d.fromReleaseId;
  }
  const plan = planEcsDeployment(config, {
    liveSlot,
    release,
    steps: effectiveSteps({ fromReleaseId, policy }),
    bakeSeconds: policy.bakeSeconds,
    validationSeconds: policy.validationSeconds,
    scaleDownDelaySeconds: policy.scaleDownDelaySeconds,
    greenReadyTimeoutSeconds: policy.greenReadyTimeoutSeconds,
    smokeTests: policy.smokeTests.length,
  });
  return { ...plan, release: { id: release.id, version: release.version, artifact: release.artifact } };
}

export interface AutoScalingView {
  resourceId: string;
  min: number | null;
  max: number | null;
  suspended: { scaleIn: boolean; scaleOut: boolean; scheduled: boolean };
  policies: {
    name: string;
    type: string;
    targetValue: number | null;
    metric: string | null;
    disableScaleIn: boolean;
  }[];
}

export interface ScalingView {
  environmentId: string;
  liveSlot: Slot;
  slots: Record<Slot, { service: string; state: SlotState; autoScaling: AutoScalingView | null }>;
  weights: { blue: number; green: number };
}

function policyMetric(policy: ScalingPolicy): string | null {
  const tt = policy.TargetTrackingScalingPolicyConfiguration;
  if (tt?.PredefinedMetricSpecification?.PredefinedMetricType)
    return tt.PredefinedMetricSpecification.PredefinedMetricType;
  const custom = tt?.CustomizedMetricSpecification;
  if (custom?.MetricName) return `${custom.Namespace ?? ""}/${custom.MetricName} (${custom.Statistic ?? "custom"})`;
  if (custom?.Metrics?.length)
    return `metric math: ${custom.Metrics.map((m) => m.Expression ?? m.MetricStat?.Metric?.MetricName ?? m.Id).join(", ")}`;
  return null;
}

/** Tasks per slot from observe, and Application Auto Scaling's bounds and policies where configured. */
export async function ecsScaling(prisma: PrismaClient, ecs: EcsTarget, id: string): Promise<ScalingView> {
  const env = await loadEnvironment(prisma, id);
  const config = ecsConfigOf(env);
  const ref: EnvironmentRef = {
    id: env.id,
    serviceSlug: env.service.slug,
    name: env.name,
    target: env.target,
    targetConfig: env.targetConfig,
  };
  const clients = ecs.clients(config);
  const resourceIds = SLOTS.map((slot) => scalableResourceId(config, config.services[slot]));
  const observing = ecs.observe(ref);
  const describingTargets = clients.autoscaling.send(
    new DescribeScalableTargetsCommand({
      ServiceNamespace: "ecs",
      ScalableDimension: "ecs:service:DesiredCount",
      ResourceIds: resourceIds,
    }),
  );
  const describingPolicies = resourceIds.map((resourceId) =>
    clients.autoscaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
      }),
    ),
  );
  // The calls run at once, but once all have settled a failure is reported in call order, not in the order the calls
  // happened to fail: the same outage always answers with the same message.
  await Promise.allSettled([observing, describingTargets, ...describingPolicies]);
  const targets = await describingTargets;
  const policies = await Promise.all(describingPolicies);
  const observed = await observing;
  const slots = {} as ScalingView["slots"];
  SLOTS.forEach((slot, i) => {
    const resourceId = resourceIds[i]!;
    const target: ScalableTarget | undefined = targets.ScalableTargets?.find((t) => t.ResourceId === resourceId);
    const slotPolicies = policies[i]?.ScalingPolicies ?? [];
    slots[slot] = {
      service: config.services[slot],
      state: observed.slots[slot],
      autoScaling: target
        ? {
            resourceId,
            min: target.MinCapacity ?? null,
            max: target.MaxCapacity ?? null,
            suspended: {
              scaleIn: target.SuspendedState?.DynamicScalingInSuspended ?? false,
              scaleOut: target.SuspendedState?.DynamicScalingOutSuspended ?? false,
              scheduled: target.SuspendedState?.ScheduledScalingSuspended ?? false,
            },
            policies: slotPolicies.map((p) => ({
              name: p.PolicyName ?? "?",
              type: p.PolicyType ?? "?",
              targetValue: p.TargetTrackingScalingPolicyConfiguration?.TargetValue ?? null,
              metric: policyMetric(p),
              disableScaleIn: p.TargetTrackingScalingPolicyConfiguration?.DisableScaleIn ?? false,
            })),
          }
        : null,
    };
  });
  return { environmentId: env.id, liveSlot: env.liveSlot, slots, weights: observed.weights };
}
