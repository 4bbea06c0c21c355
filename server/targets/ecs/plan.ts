/**
 * What a deployment will ask of AWS, in order, before it starts (pure): every call the ECS target
 * makes in each phase, the resources it touches, and the rollback path. Shown on the deployment page
 * and in docs/ecs.md.
 */
import { otherSlot, type Slot, type Weights } from "../driver.ts";
import type { EcsConfig } from "./config.ts";
import { wantedStickiness } from "./route.ts";

export interface PlannedCall {
  phase: string;
  /** The AWS service's API prefix (as in IAM): ecs, elasticloadbalancing, cloudwatch. */
  api: "ecs" | "elasticloadbalancing" | "cloudwatch" | "http";
  action: string;
  /** ARNs or names the call touches. */
  resources: string[];
  /** True for calls that change AWS. */
  write: boolean;
  /** once, each pass, or a condition. */
  when: string;
  detail: string;
}

export interface EcsPlan {
  liveSlot: Slot;
  targetSlot: Slot;
  steps: number[];
  calls: PlannedCall[];
  rollback: PlannedCall[];
}

export interface PlanInput {
  liveSlot: Slot;
  release: { version: string; artifact: string };
  /** The traffic steps the deployment walks (the policy's, or [100] when nothing is live yet). */
  steps: number[];
  bakeSeconds?: number;
  validationSeconds?: number;
  scaleDownDelaySeconds?: number;
  greenReadyTimeoutSeconds?: number;
  smokeTests?: number;
}

const weightsAt = (target: Slot, percent: number): Weights => ({ [target]: percent, [otherSlot(target)]: 100 - percent }) as Weights;

export function planEcsDeployment(config: EcsConfig, input: PlanInput): EcsPlan {
  const live = input.liveSlot;
  const target = otherSlot(live);
  const svc = config.services;
  const tg = config.targetGroups;
  const route = config.route.kind === "listener" ? { describe: "DescribeListeners", modify: "ModifyListener", arn: config.route.arn } : { describe: "DescribeRules", modify: "ModifyRule", arn: config.route.arn };
  const calls: PlannedCall[] = [];
  const call = (phase: string, c: Omit<PlannedCall, "phase">) => calls.push({ phase, ...c });

  const observe = (phase: string, when: string) => {
    call(phase, { api: "ecs", action: "DescribeServices", resources: [config.cluster, svc.blue, svc.green], write: false, when, detail: "task definition, desired/running/pending, PRIMARY deployment's rolloutState and reason, events" });
    call(phase, { api: "ecs", action: "DescribeTaskDefinition", resources: ["each service's task definition"], write: false, when: "until its release tag is known", detail: `include TAGS: which release runs there (tag greenlight:release-id)` });
    call(phase, { api: "elasticloadbalancing", action: route.describe, resources: [route.arn], write: false, when, detail: "the forward action's weights per target group" });
    call(phase, { api: "elasticloadbalancing", action: "DescribeTargetHealth", resources: [tg.blue, tg.green], write: false, when, detail: "healthy targets, and the reasons of the others" });
  };

  observe("Every pass: observe", `each pass (at most every ${config.pollIntervalMs} ms)`);

  const deploy = `Deploy ${input.release.version} to ${target}`;
  call(deploy, { api: "ecs", action: "DescribeServices", resources: [config.cluster, svc.blue, svc.green], write: false, when: "once", detail: `${svc[live]}'s task definition and desired count` });
  call(deploy, { api: "ecs", action: "DescribeTaskDefinition", resources: [`${svc[live]}'s task definition`], write: false, when: "once", detail: "include TAGS: the revision to derive from" });
  call(deploy, {
    api: "ecs",
    action: "RegisterTaskDefinition",
    resources: [`${svc[live]}'s task definition family`],
    write: true,
    when: "unless the slot already runs this release",
    detail: `a new revision: container "${config.containerName}" image → ${input.release.artifact}; everything else (secrets, environment, roles, cpu/memory) kept; tags greenlight:release-id, greenlight:release-version`,
  });
  call(deploy, { api: "ecs", action: "UpdateService", resources: [svc[target]], write: true, when: "once", detail: `taskDefinition → the new revision, desiredCount → ${svc[live]}'s desired count` });

  const steady = `Wait until ${target} is steady`;
  call(steady, {
    api: "ecs",
    action: "DescribeServices",
    resources: [svc[target]],
    write: false,
    when: "each pass",
    detail: `until the PRIMARY deployment is COMPLETED with all tasks running; fails on FAILED (rolloutStateReason) or after ${input.greenReadyTimeoutSeconds ?? "the policy's"} s (steadyStateTimeoutSeconds ${config.steadyStateTimeoutSeconds})`,
  });
  call(steady, { api: "elasticloadbalancing", action: "DescribeTargetHealth", resources: [tg[target]], write: false, when: "each pass", detail: "until every target is healthy" });

  const smoke = (phase: string) => {
    if ((input.smokeTests ?? 1) === 0) return;
    if (config.testListenerArn) {
      call(phase, { api: "elasticloadbalancing", action: "DescribeListeners", resources: [config.testListenerArn], write: false, when: "once", detail: "the test listener's forward action" });
      call(phase, { api: "elasticloadbalancing", action: "ModifyListener", resources: [config.testListenerArn], write: true, when: `unless it already forwards to ${target}`, detail: `forward 100% to ${tg[target]}` });
    }
    call(phase, { api: "http", action: "Smoke tests", resources: [config.smokeTestBaseUrls?.[target] ?? "smokeTestBaseUrls (not configured: smoke tests would fail)"], write: false, when: "once", detail: `${input.smokeTests ?? "the policy's"} checks against ${target} directly` });
  };
  smoke("Smoke tests before traffic");

  const metrics = (phase: string, when: string) =>
    call(phase, {
      api: "cloudwatch",
      action: "GetMetricData",
      resources: [`AWS/ApplicationELB ${config.targetGroupDimensions.blue}`, `AWS/ApplicationELB ${config.targetGroupDimensions.green}`, config.loadBalancerDimension],
      write: false,
      when,
      detail: `RequestCount and HTTPCode_Target_5XX_Count (Sum per ${config.metricsPeriodSeconds} s), TargetResponseTime p50/p95/p99, per target group; gates wait until the window's datapoints are in`,
    });

  input.steps.forEach((percent, i) => {
    const w = weightsAt(target, percent);
    const sticky = wantedStickiness(w, config.stickinessSeconds);
    const phase = `Step ${i + 1} of ${input.steps.length}: ${percent}% on ${target}`;
    call(phase, { api: "elasticloadbalancing", action: route.describe, resources: [route.arn], write: false, when: "once", detail: "skip the change if the weights already match" });
    call(phase, {
      api: "elasticloadbalancing",
      action: route.modify,
      resources: [route.arn, tg.blue, tg.green],
      write: true,
      when: "once",
      detail: `forward: blue weight ${w.blue}, green weight ${w.green}; stickiness ${sticky.Enabled ? `on, ${config.stickinessSeconds} s` : "off (all traffic on one slot)"}`,
    });
    call(phase, { api: "elasticloadbalancing", action: route.describe, resources: [route.arn], write: false, when: "once", detail: "read the weights back; a mismatch is an error" });
    metrics(phase, `each pass during the ${input.bakeSeconds ?? "policy's"} s bake`);
  });

  smoke("Smoke tests at 100%");
  metrics("Validate at 100%", `each pass for ${input.validationSeconds ?? "the policy's"} s`);

  const finish = "Finish";
  call(finish, { api: "ecs", action: "DescribeServices", resources: [svc[live]], write: false, when: `${input.scaleDownDelaySeconds ?? "the policy's"} s after success`, detail: `the panel records ${target} as live (nothing is renamed); then the former live service` });
  call(finish, { api: "ecs", action: "UpdateService", resources: [svc[live]], write: true, when: `${input.scaleDownDelaySeconds ?? "the policy's"} s after success`, detail: "desiredCount → 0" });

  const rollback: PlannedCall[] = [];
  const back = "Roll back (on a failed gate, smoke test or command)";
  const liveOnly = weightsAt(target, 0);
  rollback.push(
    { phase: back, api: "elasticloadbalancing", action: route.describe, resources: [route.arn], write: false, when: "first", detail: "current weights" },
    { phase: back, api: "elasticloadbalancing", action: route.modify, resources: [route.arn, tg.blue, tg.green], write: true, when: "first", detail: `forward: blue weight ${liveOnly.blue}, green weight ${liveOnly.green}; stickiness off, so clients stuck to ${target} follow` },
    { phase: back, api: "elasticloadbalancing", action: route.describe, resources: [route.arn], write: false, when: "then", detail: "read back: all traffic on " + live },
    { phase: back, api: "ecs", action: "DescribeServices", resources: [svc[target]], write: false, when: "after traffic is restored", detail: "" },
    { phase: back, api: "ecs", action: "UpdateService", resources: [svc[target]], write: true, when: "after traffic is restored", detail: "desiredCount → 0" },
  );
  return { liveSlot: live, targetSlot: target, steps: input.steps, calls, rollback };
}
