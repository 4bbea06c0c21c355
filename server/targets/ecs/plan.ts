/**
 * What a deployment will ask of AWS, in order, before it starts (pure): every call the ECS target
 * makes in each phase, the resources it touches, and the rollback path. Shown on the deployment page
 * and in docs/ecs.md.
 */
import { otherSlot, type Slot, type Weights } from "../driver.ts";
import { scalableResourceId, type EcsConfig } from "./config.ts";
import { BASELINE_PERIODS } from "./cloudwatch.ts";
import { wantedStickiness } from "./route.ts";

export interface PlannedCall {
  phase: string;
  /** The AWS service's API prefix (as in IAM): ecs, elasticloadbalancing, cloudwatch, application-autoscaling. */
  api: "ecs" | "elasticloadbalancing" | "cloudwatch" | "application-autoscaling" | "sts" | "http";
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

const weightsAt = (target: Slot, percent: number): Weights =>
  ({ [target]: percent, [otherSlot(target)]: 100 - percent }) as Weights;

export function planEcsDeployment(config: EcsConfig, input: PlanInput): EcsPlan {
  const live = input.liveSlot;
  const target = otherSlot(live);
  const svc = config.services;
  const tg = config.targetGroups;
  const calls: PlannedCall[] = [];
  const call = (phase: string, c: Omit<PlannedCall, "phase">) => calls.push({ phase, ...c });
  // Every route is read in one call per kind (listeners, rules) and written one call each.
  const listenerArns = config.routes.filter((r) => r.kind === "listener").map((r) => r.arn);
  const ruleArns = config.routes.filter((r) => r.kind === "rule").map((r) => r.arn);
  const describeRoutes = (phase: string, when: string, detail: string) => {
    if (listenerArns.length)
      call(phase, {
        api: "elasticloadbalancing",
        action: "DescribeListeners",
        resources: listenerArns,
        write: false,
        when,
        detail,
      });
    if (ruleArns.length)
      call(phase, {
        api: "elasticloadbalancing",
        action: "DescribeRules",
        resources: ruleArns,
        write: false,
        when,
        detail,
      });
  };
  const modifyRoutes = (phase: string, when: string, detail: string) => {
    for (const r of config.routes) {
      call(phase, {
        api: "elasticloadbalancing",
        action: r.kind === "listener" ? "ModifyListener" : "ModifyRule",
        resources: [r.arn, tg.blue, tg.green],
        write: true,
        when,
        detail,
      });
    }
  };

  const observe = (phase: string, when: string) => {
    call(phase, {
      api: "ecs",
      action: "DescribeServices",
      resources: [config.cluster, svc.blue, svc.green],
      write: false,
      when,
      detail: "task definition, desired/running/pending, PRIMARY deployment's rolloutState and reason, events",
    });
    call(phase, {
      api: "ecs",
      action: "DescribeTaskDefinition",
      resources: ["each service's task definition"],
      write: false,
      when: "until its release tag is known",
      detail: `include TAGS: which release runs there (tag greenlight:release-id)`,
    });
    describeRoutes(phase, when, "the forward action's weights per target group");
    call(phase, {
      api: "elasticloadbalancing",
      action: "DescribeTargetHealth",
      resources: [tg.blue, tg.green],
      write: false,
      when,
      detail: "healthy targets, and the reasons of the others",
    });
  };

  observe("Every pass: observe", `each pass (at most every ${config.pollIntervalMs} ms)`);

  const deploy = `Deploy ${input.release.version} to ${target}`;
  call(deploy, {
    api: "ecs",
    action: "DescribeServices",
    resources: [config.cluster, svc.blue, svc.green],
    write: false,
    when: "once",
    detail: `${svc[live]}'s task definition and desired count`,
  });
  call(deploy, {
    api: "ecs",
    action: "DescribeTaskDefinition",
    resources: [`${svc[live]}'s task definition`],
    write: false,
    when: "once",
    detail: "include TAGS: the revision to derive from",
  });
  call(deploy, {
    api: "ecs",
    action: "RegisterTaskDefinition",
    resources: [`${svc[live]}'s task definition family`],
    write: true,
    when: "unless the slot already runs this release",
    detail: `a new revision: container "${config.containerName}" image → ${input.release.artifact}; everything else (secrets, environment, roles, cpu/memory) kept; tags greenlight:release-id, greenlight:release-version`,
  });
  const resourceId = (slot: Slot) => scalableResourceId(config, svc[slot]);
  call(deploy, {
    api: "application-autoscaling",
    action: "DescribeScalableTargets",
    resources: [resourceId("blue"), resourceId("green")],
    write: false,
    when: "once",
    detail: "whether Application Auto Scaling manages the services, and their bounds",
  });
  call(deploy, {
    api: "application-autoscaling",
    action: "RegisterScalableTarget",
    resources: [resourceId(target)],
    write: true,
    when: `when it manages ${svc[live]} and ${svc[target]}'s bounds differ`,
    detail: `MinCapacity and MaxCapacity → ${svc[live]}'s`,
  });
  call(deploy, {
    api: "ecs",
    action: "UpdateService",
    resources: [svc[target]],
    write: true,
    when: "once",
    detail: `taskDefinition → the new revision, desiredCount → ${svc[live]}'s desired count`,
  });

  const steady = `Wait until ${target} is steady`;
  call(steady, {
    api: "ecs",
    action: "DescribeServices",
    resources: [svc[target]],
    write: false,
    when: "each pass",
    detail: `until the PRIMARY deployment is COMPLETED with all tasks running; fails on FAILED (rolloutStateReason) or after ${input.greenReadyTimeoutSeconds ?? "the policy's"} s (steadyStateTimeoutSeconds ${config.steadyStateTimeoutSeconds})`,
  });
  call(steady, {
    api: "elasticloadbalancing",
    action: "DescribeTargetHealth",
    resources: [tg[target]],
    write: false,
    when: "each pass",
    detail: "until every target is healthy",
  });

  const smoke = (phase: string) => {
    if ((input.smokeTests ?? 1) === 0) return;
    if (config.testListenerArn) {
      call(phase, {
        api: "elasticloadbalancing",
        action: "DescribeListeners",
        resources: [config.testListenerArn],
        write: false,
        when: "once",
        detail: "the test listener's forward action",
      });
      call(phase, {
        api: "elasticloadbalancing",
        action: "ModifyListener",
        resources: [config.testListenerArn],
        write: true,
        when: `unless it already forwards to ${target}`,
        detail: `forward 100% to ${tg[target]}`,
      });
    }
    call(phase, {
      api: "http",
      action: "Smoke tests",
      resources: [config.smokeTestBaseUrls?.[target] ?? "smokeTestBaseUrls (not configured: smoke tests would fail)"],
      write: false,
      when: "once",
      detail: `${input.smokeTests ?? "the policy's"} checks against ${target} directly`,
    });
  };
  smoke("Smoke tests before traffic");

  const metrics = (phase: string, when: string) => {
    if (config.alarmNames.length > 0) {
      call(phase, {
        api: "cloudwatch",
        action: "DescribeAlarms",
        resources: config.alarmNames,
        write: false,
        when,
        detail: "any of these alarms in ALARM fails the step, naming it",
      });
    }
    call(phase, {
      api: "cloudwatch",
      action: "GetMetricData",
      resources: [
        `AWS/ApplicationELB ${config.targetGroupDimensions.blue}`,
        `AWS/ApplicationELB ${config.targetGroupDimensions.green}`,
        config.loadBalancerDimension,
      ],
      write: false,
      when,
      detail: `per target group: RequestCount, HTTPCode_Target_5XX_Count and TargetConnectionErrorCount (Sum per ${config.metricsPeriodSeconds} s), UnHealthyHostCount (Minimum), TargetResponseTime p50/p95/p99 (per period and overall); per load balancer: HTTPCode_ELB_5XX_Count. Gates wait until the window's datapoints are in. A second call, for the ${BASELINE_PERIODS} periods before the step, only when the load balancer answered 5xx itself`,
    });
  };

  input.steps.forEach((percent, i) => {
    const w = weightsAt(target, percent);
    const sticky = wantedStickiness(w, config.stickinessSeconds);
    const phase = `Step ${i + 1} of ${input.steps.length}: ${percent}% on ${target}`;
    describeRoutes(phase, "once", "skip the change where the weights already match");
    modifyRoutes(
      phase,
      "once, unless that route already matches",
      `forward: blue weight ${w.blue}, green weight ${w.green}; stickiness ${sticky.Enabled ? `on, ${config.stickinessSeconds} s` : "off (all traffic on one slot)"}`,
    );
    describeRoutes(
      phase,
      "once",
      `read the weights back; the step is reached only when every route holds them${config.routes.length > 1 ? ` (all ${config.routes.length})` : ""}`,
    );
    metrics(phase, `each pass during the ${input.bakeSeconds ?? "policy's"} s bake`);
  });

  smoke("Smoke tests at 100%");
  metrics("Validate at 100%", `each pass for ${input.validationSeconds ?? "the policy's"} s`);

  const finish = "Finish";
  const later = `${input.scaleDownDelaySeconds ?? "the policy's"} s after success`;
  call(finish, {
    api: "application-autoscaling",
    action: "DescribeScalableTargets",
    resources: [resourceId("blue"), resourceId("green")],
    write: false,
    when: later,
    detail: `the panel records ${target} as live (nothing is renamed); then the former live service's bounds`,
  });
  call(finish, {
    api: "application-autoscaling",
    action: "RegisterScalableTarget",
    resources: [resourceId(live)],
    write: true,
    when: `${later}, when its MinCapacity is above 0`,
    detail: "MinCapacity → 0 (MaxCapacity kept), so it is not scaled up again",
  });
  call(finish, {
    api: "ecs",
    action: "DescribeServices",
    resources: [svc[live]],
    write: false,
    when: later,
    detail: "the former live service",
  });
  call(finish, {
    api: "ecs",
    action: "UpdateService",
    resources: [svc[live]],
    write: true,
    when: `${input.scaleDownDelaySeconds ?? "the policy's"} s after success`,
    detail: "desiredCount → 0",
  });

  const rollback: PlannedCall[] = [];
  const back = "Roll back (on a failed gate, smoke test or command)";
  const liveOnly = weightsAt(target, 0);
  const routeCall = (
    action: string,
    resources: string[],
    write: boolean,
    when: string,
    detail: string,
  ): PlannedCall => ({ phase: back, api: "elasticloadbalancing", action, resources, write, when, detail });
  const describeAll = (when: string, detail: string) => [
    ...(listenerArns.length ? [routeCall("DescribeListeners", listenerArns, false, when, detail)] : []),
    ...(ruleArns.length ? [routeCall("DescribeRules", ruleArns, false, when, detail)] : []),
  ];
  rollback.push(
    ...describeAll("first", "current weights"),
    ...config.routes.map((r) =>
      routeCall(
        r.kind === "listener" ? "ModifyListener" : "ModifyRule",
        [r.arn, tg.blue, tg.green],
        true,
        "first",
        `forward: blue weight ${liveOnly.blue}, green weight ${liveOnly.green}; stickiness off, so clients stuck to ${target} follow`,
      ),
    ),
    ...describeAll("then", "read back: all traffic on " + live),
    {
      phase: back,
      api: "application-autoscaling",
      action: "DescribeScalableTargets",
      resources: [resourceId("blue"), resourceId("green")],
      write: false,
      when: "after traffic is restored",
      detail: "",
    },
    {
      phase: back,
      api: "application-autoscaling",
      action: "RegisterScalableTarget",
      resources: [resourceId(target)],
      write: true,
      when: "after traffic is restored, when its MinCapacity is above 0",
      detail: "MinCapacity → 0",
    },
    {
      phase: back,
      api: "ecs",
      action: "DescribeServices",
      resources: [svc[target]],
      write: false,
      when: "after traffic is restored",
      detail: "",
    },
    {
      phase: back,
      api: "ecs",
      action: "UpdateService",
      resources: [svc[target]],
      write: true,
      when: "after traffic is restored",
      detail: "desiredCount → 0",
    },
  );
  return { liveSlot: live, targetSlot: target, steps: input.steps, calls, rollback };
}
