/**
 * An in-memory stand-in for the slice of ECS, ELBv2, CloudWatch and Application Auto Scaling the ECS target uses: two services
 * whose tasks start, become healthy (or not) and stop over a few observations, a listener whose
 * forward action holds the weights, and load-balancer metrics derived from those weights and from
 * how each image behaves. `mockAws` puts it behind the SDK clients with aws-sdk-client-mock (no
 * network, no AWS).
 */
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
  type DescribeScalableTargetsCommandInput,
  type DescribeScalableTargetsCommandOutput,
  type RegisterScalableTargetCommandInput,
  type RegisterScalableTargetCommandOutput,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type DescribeAlarmsCommandInput,
  type DescribeAlarmsCommandOutput,
} from "@aws-sdk/client-cloudwatch";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import type { EcsClients } from "../../server/targets/ecs/clients.ts";
import type {
  ContainerDefinition,
  DescribeServicesCommandInput,
  DescribeServicesCommandOutput,
  DescribeTaskDefinitionCommandInput,
  DescribeTaskDefinitionCommandOutput,
  RegisterTaskDefinitionCommandInput,
  RegisterTaskDefinitionCommandOutput,
  Service,
  Tag,
  TaskDefinition,
  UpdateServiceCommandInput,
  UpdateServiceCommandOutput,
} from "@aws-sdk/client-ecs";
import type {
  Action,
  DescribeListenersCommandInput,
  DescribeListenersCommandOutput,
  DescribeRulesCommandInput,
  DescribeRulesCommandOutput,
  DescribeTargetHealthCommandInput,
  DescribeTargetHealthCommandOutput,
  ModifyListenerCommandInput,
  ModifyListenerCommandOutput,
  ModifyRuleCommandInput,
  ModifyRuleCommandOutput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { GetMetricDataCommandInput, GetMetricDataCommandOutput } from "@aws-sdk/client-cloudwatch";
import { SLOTS, type Slot } from "../../server/targets/driver.ts";
import type { EcsConfig } from "../../server/targets/ecs/config.ts";
import { forwardTargets } from "../../server/targets/ecs/route.ts";

/** The sample account's listener, listener rule and target groups (checkout on the shop ALB). */
export const LISTENER =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
export const RULE =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
export const TG_BLUE = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-blue/73e2d6bc24d8a067";
export const TG_GREEN =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-green/2453ed029918f21f";

/** The sample environment's ECS configuration as an administrator would give it (overrides merged in). */
export function sampleEcsConfigInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    region: "eu-west-1",
    cluster: "shop",
    services: { blue: "checkout-blue", green: "checkout-green" },
    listenerArn: LISTENER,
    targetGroups: { blue: TG_BLUE, green: TG_GREEN },
    containerName: "app",
    ...overrides,
  };
}

export interface ImageBehaviour {
  /** Share of requests answered 5xx, 0..1. */
  errorRate: number;
  p95Ms: number;
  /** Tasks never pass the target group's health check. */
  unhealthy?: boolean;
  /** Share of requests the load balancer could not deliver to a task (TargetConnectionErrorCount), 0..1. */
  connectionErrorRate?: number;
  /** Share of requests the load balancer answered 5xx itself (HTTPCode_ELB_5XX_Count), 0..1. */
  loadBalancerErrorRate?: number;
  /** Hosts CloudWatch counts unhealthy in every period (UnHealthyHostCount). */
  unhealthyHosts?: number;
}

interface FakeTask {
  id: string;
  taskDefinition: string;
  state: "PENDING" | "RUNNING";
  health: "initial" | "healthy" | "unhealthy";
  age: number;
}

interface FakeService {
  name: string;
  slot: Slot;
  taskDefinition: string;
  desiredCount: number;
  tasks: FakeTask[];
  deploymentId: number;
  deploymentCreatedAt: Date;
  rolloutState: "IN_PROGRESS" | "COMPLETED" | "FAILED";
  rolloutStateReason: string;
  events: { id: string; createdAt: Date; message: string }[];
  /** Settings DescribeServices reports as they are (deployment strategy, controller, load balancers). */
  settings: Partial<Service>;
}

const meta = { $metadata: {} };
const clone = <T>(value: T): T => structuredClone(value);

export class FakeAws {
  readonly services = new Map<string, FakeService>();
  readonly taskDefinitions = new Map<string, { taskDefinition: TaskDefinition; tags: Tag[] }>();
  /** Listener ARN or rule ARN → its actions. */
  readonly routes = new Map<string, Action[]>();
  /** CloudWatch alarms by name. */
  readonly alarms = new Map<string, { state: "OK" | "ALARM" | "INSUFFICIENT_DATA"; reason: string; since: Date }>();
  /** Application Auto Scaling's scalable targets by resource id (`service/<cluster>/<service>`). */
  readonly scalableTargets = new Map<string, { min: number; max: number }>();
  /** Every call, in order: `ecs:UpdateService` and so on, with its input. */
  readonly calls: { action: string; input: unknown; at: Date; by?: string }[] = [];
  /** The main route's weights over time (CloudWatch's figures follow them period by period). */
  private readonly weightHistory: { at: number; weights: Record<Slot, number> }[] = [];
  /** Requests per minute the load balancer receives in total. */
  requestsPerMinute = 600;
  /** Unhealthy tasks fail the rollout after this many observations. */
  failAfterTicks = 4;
  private readonly behaviours = new Map<string, ImageBehaviour>();
  private taskCounter = 0;
  private eventCounter = 0;

  constructor(
    readonly config: EcsConfig,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Image → how its tasks behave (default: healthy, no errors, 80 ms). */
  behave(image: string, behaviour: ImageBehaviour): void {
    this.behaviours.set(image, behaviour);
  }

  private behaviour(image: string | undefined): ImageBehaviour {
    return (image ? this.behaviours.get(image) : undefined) ?? { errorRate: 0, p95Ms: 80 };
  }

  /** Registers a task definition as if made outside the panel (Terraform, say); its ARN. */
  seedTaskDefinition(taskDefinition: Omit<TaskDefinition, "taskDefinitionArn" | "revision">, tags: Tag[] = []): string {
    return this.register(
      {
        ...taskDefinition,
        containerDefinitions: taskDefinition.containerDefinitions,
      } as RegisterTaskDefinitionCommandInput,
      tags,
    );
  }

  /** A service already running `desiredCount` healthy tasks of a task definition. */
  seedService(slot: Slot, taskDefinition: string, desiredCount: number): void {
    const tasks: FakeTask[] = Array.from({ length: desiredCount }, () => ({
      id: this.taskId(),
      taskDefinition,
      state: "RUNNING",
      health: "healthy",
      age: 10,
    }));
    this.services.set(this.config.services[slot], {
      name: this.config.services[slot],
      slot,
      taskDefinition,
      desiredCount,
      tasks,
      deploymentId: 1,
      deploymentCreatedAt: new Date(this.now().getTime() - 3600_000),
      rolloutState: "COMPLETED",
      rolloutStateReason: "ECS deployment completed.",
      events: [],
      settings: {},
    });
  }

  /** The route's forward action with these raw weights (stickiness off). */
  seedRoute(arn: string, weights: Record<Slot, number>): void {
    if (arn === this.config.route.arn)
      this.weightHistory.push({ at: Number.NEGATIVE_INFINITY, weights: { ...weights } });
    this.routes.set(arn, [
      {
        Type: "forward",
        Order: 1,
        ForwardConfig: {
          TargetGroups: SLOTS.map((slot) => ({
            TargetGroupArn: this.config.targetGroups[slot],
            Weight: weights[slot],
          })),
          TargetGroupStickinessConfig: { Enabled: false },
        },
      },
    ]);
  }

  service(slot: Slot): FakeService {
    const s = this.services.get(this.config.services[slot]);
    if (!s) throw new Error(`no fake service for ${slot}`);
    return s;
  }

  weights(arn = this.config.route.arn): Record<Slot, number> {
    const targets = forwardTargets(this.routes.get(arn)?.find((a) => a.Type === "forward") ?? { Type: "forward" });
    return {
      blue: targets.find((t) => t.arn === this.config.targetGroups.blue)?.weight ?? 0,
      green: targets.find((t) => t.arn === this.config.targetGroups.green)?.weight ?? 0,
    };
  }

  image(slot: Slot): string | undefined {
    return this.taskDefinitions
      .get(this.service(slot).taskDefinition)
      ?.taskDefinition.containerDefinitions?.find((c) => c.name === this.config.containerName)?.image;
  }

  private taskId(): string {
    return `task-${++this.taskCounter}`;
  }

  private event(s: FakeService, message: string): void {
    s.events.unshift({
      id: `ev-${++this.eventCounter}`,
      createdAt: this.now(),
      message: `(service ${s.name}) ${message}`,
    });
  }

  private register(input: RegisterTaskDefinitionCommandInput, tags: Tag[]): string {
    const family = input.family!;
    const revision = [...this.taskDefinitions.values()].filter((t) => t.taskDefinition.family === family).length + 1;
    const arn = `arn:aws:ecs:${this.config.region}:${this.config.accountId}:task-definition/${family}:${revision}`;
    const { tags: _tags, ...rest } = input;
    this.taskDefinitions.set(arn, {
      taskDefinition: { ...clone(rest), taskDefinitionArn: arn, revision, status: "ACTIVE", registeredAt: this.now() },
      tags: clone(tags),
    });
    return arn;
  }

  /** Application Auto Scaling manages a slot's service within these bounds. */
  seedScalableTarget(slot: Slot, min: number, max: number): void {
    this.scalableTargets.set(`service/${this.config.clusterName}/${this.config.services[slot]}`, { min, max });
  }

  scalableTarget(slot: Slot): { min: number; max: number } | undefined {
    return this.scalableTargets.get(`service/${this.config.clusterName}/${this.config.services[slot]}`);
  }

  /** One step of ECS's work on every service: start, health-check, replace and stop tasks. */
  tick(): void {
    for (const s of this.services.values()) {
      // Application Auto Scaling keeps the desired count within the scalable target's bounds.
      const bounds = this.scalableTargets.get(`service/${this.config.clusterName}/${s.name}`);
      if (bounds && s.desiredCount < bounds.min) {
        s.desiredCount = bounds.min;
        this.event(
          s,
          `(Application Auto Scaling) has set the desired count to ${bounds.min}, the scalable target's minimum.`,
        );
      }
      const image = this.taskDefinitions
        .get(s.taskDefinition)
        ?.taskDefinition.containerDefinitions?.find((c) => c.name === this.config.containerName)?.image;
      const bad = this.behaviour(image).unhealthy === true;
      for (const t of s.tasks) {
        t.age++;
        if (t.state === "PENDING") t.state = "RUNNING";
        else if (t.health === "initial")
          t.health = t.taskDefinition === s.taskDefinition && bad ? "unhealthy" : "healthy";
      }
      const current = s.tasks.filter((t) => t.taskDefinition === s.taskDefinition);
      const currentHealthy = current.filter((t) => t.health === "healthy");
      if (current.length < s.desiredCount && s.rolloutState !== "FAILED") {
        s.tasks.push({
          id: this.taskId(),
          taskDefinition: s.taskDefinition,
          state: "PENDING",
          health: "initial",
          age: 0,
        });
        this.event(s, `has started 1 tasks: (task ${s.tasks.at(-1)!.id}).`);
      }
      if (current.length > s.desiredCount) {
        const stop = current.slice(s.desiredCount);
        s.tasks = s.tasks.filter((t) => !stop.includes(t));
        this.event(s, `has stopped ${stop.length} running tasks.`);
      }
      // Old tasks go once the new ones are healthy (a rolling update with minimum healthy 100%).
      if (currentHealthy.length >= s.desiredCount)
        s.tasks = s.tasks.filter((t) => t.taskDefinition === s.taskDefinition);
      if (s.rolloutState === "IN_PROGRESS") {
        if (bad && current.some((t) => t.health === "unhealthy" && t.age >= this.failAfterTicks)) {
          s.rolloutState = "FAILED";
          s.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
          this.event(s, "deployment failed: tasks failed to start.");
        } else if (currentHealthy.length === s.desiredCount && s.tasks.length === s.desiredCount) {
          s.rolloutState = "COMPLETED";
          s.rolloutStateReason = "ECS deployment completed.";
          this.event(s, "has reached a steady state.");
        }
      }
    }
  }

  // ─── ECS ───────────────────────────────────────────────────────────────────────────────────────

  describeServices = (input: DescribeServicesCommandInput): DescribeServicesCommandOutput => {
    this.calls.push({ action: "ecs:DescribeServices", input, at: this.now() });
    this.tick();
    const services: Service[] = [];
    const failures = [];
    for (const name of input.services ?? []) {
      const s = this.services.get(name);
      if (!s) {
        failures.push({
          arn: `arn:aws:ecs:${this.config.region}:${this.config.accountId}:service/${this.config.clusterName}/${name}`,
          reason: "MISSING",
        });
        continue;
      }
      services.push({
        serviceName: s.name,
        serviceArn: `arn:aws:ecs:${this.config.region}:${this.config.accountId}:service/${this.config.clusterName}/${s.name}`,
        status: "ACTIVE",
        taskDefinition: s.taskDefinition,
        desiredCount: s.desiredCount,
        runningCount: s.tasks.filter((t) => t.state === "RUNNING").length,
        pendingCount: s.tasks.filter((t) => t.state === "PENDING").length,
        loadBalancers: [
          {
            targetGroupArn: this.config.targetGroups[s.slot],
            containerName: this.config.containerName,
            containerPort: 8080,
          },
        ],
        deploymentController: { type: "ECS" },
        deploymentConfiguration: { strategy: "ROLLING", maximumPercent: 200, minimumHealthyPercent: 100 },
        ...s.settings,
        deployments: [
          {
            id: `ecs-svc/${s.deploymentId}`,
            status: "PRIMARY",
            taskDefinition: s.taskDefinition,
            desiredCount: s.desiredCount,
            runningCount: s.tasks.filter((t) => t.taskDefinition === s.taskDefinition && t.state === "RUNNING").length,
            createdAt: s.deploymentCreatedAt,
            rolloutState: s.rolloutState,
            rolloutStateReason: s.rolloutStateReason,
          },
        ],
        events: clone(s.events.slice(0, 20)),
      });
    }
    return { ...meta, services, failures };
  };

  describeTaskDefinition = (input: DescribeTaskDefinitionCommandInput): DescribeTaskDefinitionCommandOutput => {
    this.calls.push({ action: "ecs:DescribeTaskDefinition", input, at: this.now() });
    const found = this.taskDefinitions.get(input.taskDefinition!);
    if (!found) throw Object.assign(new Error("Unable to describe task definition."), { name: "ClientException" });
    return {
      ...meta,
      taskDefinition: clone(found.taskDefinition),
      ...(input.include?.includes("TAGS") ? { tags: clone(found.tags) } : {}),
    };
  };

  registerTaskDefinition = (input: RegisterTaskDefinitionCommandInput): RegisterTaskDefinitionCommandOutput => {
    this.calls.push({ action: "ecs:RegisterTaskDefinition", input, at: this.now() });
    const arn = this.register(input, input.tags ?? []);
    return {
      ...meta,
      taskDefinition: clone(this.taskDefinitions.get(arn)!.taskDefinition),
      tags: clone(input.tags ?? []),
    };
  };

  updateService = (input: UpdateServiceCommandInput): UpdateServiceCommandOutput => {
    this.calls.push({ action: "ecs:UpdateService", input, at: this.now() });
    const s = this.services.get(input.service!);
    if (!s) throw Object.assign(new Error("Service not found."), { name: "ServiceNotFoundException" });
    if ((input.taskDefinition && input.taskDefinition !== s.taskDefinition) || input.forceNewDeployment) {
      if (input.taskDefinition && !this.taskDefinitions.has(input.taskDefinition))
        throw Object.assign(new Error("TaskDefinition not found."), { name: "ClientException" });
      s.taskDefinition = input.taskDefinition ?? s.taskDefinition;
      s.deploymentId++;
      s.deploymentCreatedAt = this.now();
      s.rolloutState = "IN_PROGRESS";
      s.rolloutStateReason = "ECS deployment ecs-svc/" + s.deploymentId + " in progress.";
    }
    if (input.desiredCount !== undefined) s.desiredCount = input.desiredCount;
    return {
      ...meta,
      service: { serviceName: s.name, taskDefinition: s.taskDefinition, desiredCount: s.desiredCount },
    };
  };

  setAlarm(
    name: string,
    state: "OK" | "ALARM" | "INSUFFICIENT_DATA",
    reason = `Threshold ${state === "ALARM" ? "Crossed" : "not crossed"}`,
  ): void {
    this.alarms.set(name, { state, reason, since: this.now() });
  }

  /** Only alarms that exist are returned (CloudWatch says nothing about unknown names). */
  describeAlarms = (input: DescribeAlarmsCommandInput): DescribeAlarmsCommandOutput => {
    this.calls.push({ action: "cloudwatch:DescribeAlarms", input, at: this.now() });
    const names = (input.AlarmNames ?? [...this.alarms.keys()]).filter((name) => this.alarms.has(name));
    return {
      ...meta,
      MetricAlarms: names.map((name) => {
        const a = this.alarms.get(name)!;
        return {
          AlarmName: name,
          StateValue: a.state,
          StateReason: a.reason,
          StateUpdatedTimestamp: a.since,
          Namespace: "AWS/ApplicationELB",
          MetricName: "HTTPCode_Target_5XX_Count",
        };
      }),
      CompositeAlarms: [],
    };
  };

  // ─── Application Auto Scaling ──────────────────────────────────────────────────────────────────

  describeScalableTargets = (input: DescribeScalableTargetsCommandInput): DescribeScalableTargetsCommandOutput => {
    this.calls.push({ action: "application-autoscaling:DescribeScalableTargets", input, at: this.now() });
    const ids = input.ResourceIds ?? [...this.scalableTargets.keys()];
    return {
      ...meta,
      ScalableTargets: ids
        .filter((id) => this.scalableTargets.has(id))
        .map((id) => ({
          ServiceNamespace: "ecs",
          ResourceId: id,
          ScalableDimension: "ecs:service:DesiredCount",
          MinCapacity: this.scalableTargets.get(id)!.min,
          MaxCapacity: this.scalableTargets.get(id)!.max,
          RoleARN: `arn:aws:iam::${this.config.accountId}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
          CreationTime: this.now(),
        })),
    };
  };

  registerScalableTarget = (input: RegisterScalableTargetCommandInput): RegisterScalableTargetCommandOutput => {
    this.calls.push({ action: "application-autoscaling:RegisterScalableTarget", input, at: this.now() });
    const current = this.scalableTargets.get(input.ResourceId!);
    const min = input.MinCapacity ?? current?.min;
    const max = input.MaxCapacity ?? current?.max;
    if (min === undefined || max === undefined)
      throw Object.assign(new Error("MinCapacity and MaxCapacity are required for a new scalable target"), {
        name: "ValidationException",
      });
    if (min > max)
      throw Object.assign(new Error("Minimum capacity cannot be greater than maximum capacity"), {
        name: "ValidationException",
      });
    this.scalableTargets.set(input.ResourceId!, { min, max });
    return {
      ...meta,
      ScalableTargetARN: `arn:aws:application-autoscaling:${this.config.region}:${this.config.accountId}:scalable-target/${input.ResourceId}`,
    };
  };

  // ─── ELBv2 ─────────────────────────────────────────────────────────────────────────────────────

  private actionsOf(arn: string): Action[] {
    const actions = this.routes.get(arn);
    if (!actions && arn.includes(":listener-rule/"))
      throw Object.assign(new Error("One or more rules not found"), { name: "RuleNotFoundException" });
    if (!actions)
      throw Object.assign(new Error("One or more listeners not found"), { name: "ListenerNotFoundException" });
    return actions;
  }

  describeListeners = (input: DescribeListenersCommandInput): DescribeListenersCommandOutput => {
    this.calls.push({ action: "elasticloadbalancing:DescribeListeners", input, at: this.now() });
    return {
      ...meta,
      Listeners: (input.ListenerArns ?? []).map((arn) => ({
        ListenerArn: arn,
        DefaultActions: clone(this.actionsOf(arn)),
      })),
    };
  };

  describeRules = (input: DescribeRulesCommandInput): DescribeRulesCommandOutput => {
    this.calls.push({ action: "elasticloadbalancing:DescribeRules", input, at: this.now() });
    return {
      ...meta,
      Rules: (input.RuleArns ?? []).map((arn) => ({
        RuleArn: arn,
        Priority: "10",
        Actions: clone(this.actionsOf(arn)),
      })),
    };
  };

  modifyListener = (input: ModifyListenerCommandInput): ModifyListenerCommandOutput => {
    this.calls.push({ action: "elasticloadbalancing:ModifyListener", input, at: this.now() });
    this.actionsOf(input.ListenerArn!);
    this.routes.set(input.ListenerArn!, clone(input.DefaultActions ?? []));
    if (input.ListenerArn === this.config.route.arn)
      this.weightHistory.push({ at: this.now().getTime(), weights: this.weights() });
    return { ...meta, Listeners: [{ ListenerArn: input.ListenerArn, DefaultActions: clone(input.DefaultActions) }] };
  };

  modifyRule = (input: ModifyRuleCommandInput): ModifyRuleCommandOutput => {
    this.calls.push({ action: "elasticloadbalancing:ModifyRule", input, at: this.now() });
    this.actionsOf(input.RuleArn!);
    this.routes.set(input.RuleArn!, clone(input.Actions ?? []));
    if (input.RuleArn === this.config.route.arn)
      this.weightHistory.push({ at: this.now().getTime(), weights: this.weights() });
    return { ...meta, Rules: [{ RuleArn: input.RuleArn, Actions: clone(input.Actions) }] };
  };

  describeTargetHealth = (input: DescribeTargetHealthCommandInput): DescribeTargetHealthCommandOutput => {
    this.calls.push({ action: "elasticloadbalancing:DescribeTargetHealth", input, at: this.now() });
    const slot = SLOTS.find((s) => this.config.targetGroups[s] === input.TargetGroupArn);
    if (!slot) throw Object.assign(new Error("Target groups not found"), { name: "TargetGroupNotFoundException" });
    const s = this.services.get(this.config.services[slot]);
    const running = s?.tasks.filter((t) => t.state === "RUNNING") ?? [];
    return {
      ...meta,
      TargetHealthDescriptions: running.map((t, i) => ({
        Target: { Id: `10.0.${slot === "blue" ? 1 : 2}.${i + 10}`, Port: 8080 },
        TargetHealth:
          t.health === "healthy"
            ? { State: "healthy" }
            : t.health === "initial"
              ? {
                  State: "initial",
                  Reason: "Elb.InitialHealthChecking",
                  Description: "Initial health checks in progress",
                }
              : {
                  State: "unhealthy",
                  Reason: "Target.ResponseCodeMismatch",
                  Description: "Health checks failed with these codes: [500]",
                },
      })),
    };
  };

  // ─── CloudWatch ────────────────────────────────────────────────────────────────────────────────

  /** The main route's weights at a moment (the last change at or before it). */
  weightsAt(t: number): Record<Slot, number> {
    const change = [...this.weightHistory].reverse().find((c) => c.at <= t);
    return change?.weights ?? this.weights();
  }

  /**
   * Datapoints for every period asked for: each slot's requests follow the weights in force at the
   * period's end; errors, latency and health follow each slot's image (as it is now). The load
   * balancer's own metrics (no TargetGroup dimension) add up over both slots.
   */
  getMetricData = (input: GetMetricDataCommandInput): GetMetricDataCommandOutput => {
    this.calls.push({ action: "cloudwatch:GetMetricData", input, at: this.now() });
    const start = input.StartTime!.getTime();
    const end = input.EndTime!.getTime();
    const results = (input.MetricDataQueries ?? []).map((q) => {
      const stat = q.MetricStat!;
      // The service's own high-resolution metrics, one set per slot, say what they are by name.
      const hr = stat.Metric!.Namespace !== "AWS/ApplicationELB" ? this.config.highResolutionMetrics : undefined;
      const own = hr
        ? {
            [hr.requests]: "RequestCount",
            [hr.errors]: "HTTPCode_Target_5XX_Count",
            [hr.latencyMs]: "TargetResponseTime",
          }[stat.Metric!.MetricName!]
        : undefined;
      const name = own ?? stat.Metric!.MetricName!;
      const latencyUnit = hr ? 1 : 1000;
      const tg = stat.Metric!.Dimensions!.find((d) => d.Name === "TargetGroup")?.Value;
      const slotValue = hr
        ? (stat.Metric!.Dimensions!.find((d) => d.Name === hr.slotDimension)?.Value as Slot | undefined)
        : undefined;
      const slots = slotValue
        ? [slotValue]
        : tg
          ? [SLOTS.find((s) => this.config.targetGroupDimensions[s] === tg)!]
          : [...SLOTS];
      const periodMs = stat.Period! * 1000;
      const timestamps: Date[] = [];
      const values: number[] = [];
      for (let t = start; t + periodMs <= end; t += periodMs) {
        const weights = this.weightsAt(t + periodMs - 1);
        const total = weights.blue + weights.green || 1;
        const perSlot = slots.map((slot) => ({
          slot,
          b: this.behaviour(this.image(slot)),
          requests: (this.requestsPerMinute * (periodMs / 60_000) * weights[slot]) / total,
        }));
        const requests = perSlot.reduce((n, p) => n + p.requests, 0);
        const count = (rate: (b: ImageBehaviour) => number | undefined) =>
          Math.round(perSlot.reduce((n, p) => n + p.requests * (rate(p.b) ?? 0), 0));
        const only = perSlot[0]!;
        let value: number | null;
        if (name === "UnHealthyHostCount") value = only.b.unhealthyHosts ?? 0;
        else if (requests <= 0) value = null;
        else if (name === "RequestCount") value = requests;
        else if (name === "HTTPCode_Target_5XX_Count") value = count((b) => b.errorRate) || null;
        else if (name === "TargetConnectionErrorCount") value = count((b) => b.connectionErrorRate) || null;
        else if (name === "HTTPCode_ELB_5XX_Count") value = count((b) => b.loadBalancerErrorRate) || null;
        else
          value =
            (stat.Stat === "p50" ? only.b.p95Ms / 2 : stat.Stat === "p95" ? only.b.p95Ms : only.b.p95Ms * 1.5) /
            latencyUnit;
        if (value === null) continue;
        timestamps.push(new Date(t));
        values.push(value);
      }
      return { Id: q.Id, Label: q.Id, Timestamps: timestamps, Values: values, StatusCode: "Complete" as const };
    });
    return { ...meta, MetricDataResults: results, Messages: [] };
  };
}

/** A task definition like one Terraform would register: two containers, secrets, roles. */
export function sampleTaskDefinition(
  family: string,
  image: string,
  containerName = "app",
): Omit<TaskDefinition, "taskDefinitionArn" | "revision"> {
  const app: ContainerDefinition = {
    name: containerName,
    image,
    essential: true,
    portMappings: [{ containerPort: 8080, protocol: "tcp" }],
    environment: [{ name: "NODE_ENV", value: "production" }],
    secrets: [
      { name: "DATABASE_URL", valueFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout/db-AbCdEf" },
    ],
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": `/ecs/${family}`, "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "app" },
    },
  };
  const sidecar: ContainerDefinition = {
    name: "otel-collector",
    image: "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
    essential: false,
  };
  return {
    family,
    taskRoleArn: "arn:aws:iam::123456789012:role/checkout-task",
    executionRoleArn: "arn:aws:iam::123456789012:role/checkout-execution",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "512",
    memory: "1024",
    runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
    containerDefinitions: [app, sidecar],
    // Read-only fields AWS returns, which must not be sent back.
    status: "ACTIVE",
    compatibilities: ["EC2", "FARGATE"],
    requiresAttributes: [{ name: "com.amazonaws.ecs.capability.logging-driver.awslogs" }],
    registeredAt: new Date("2026-01-01T00:00:00Z"),
    registeredBy: "arn:aws:sts::123456789012:assumed-role/terraform/ci",
  };
}

/** The SDK clients answered by `fake` through aws-sdk-client-mock: every call the ECS target makes. */
export function mockAws(
  fake: FakeAws,
  clients: EcsClients,
): {
  ecs: AwsClientStub<ECSClient>;
  elb: AwsClientStub<ElasticLoadBalancingV2Client>;
  cw: AwsClientStub<CloudWatchClient>;
  autoscaling: AwsClientStub<ApplicationAutoScalingClient>;
} {
  const ecs = mockClient(clients.ecs);
  const elb = mockClient(clients.elb);
  const cw = mockClient(clients.cloudwatch);
  const autoscaling = mockClient(clients.autoscaling);
  autoscaling.on(DescribeScalableTargetsCommand).callsFake(fake.describeScalableTargets);
  autoscaling.on(RegisterScalableTargetCommand).callsFake(fake.registerScalableTarget);
  ecs.on(DescribeServicesCommand).callsFake(fake.describeServices);
  ecs.on(DescribeTaskDefinitionCommand).callsFake(fake.describeTaskDefinition);
  ecs.on(RegisterTaskDefinitionCommand).callsFake(fake.registerTaskDefinition);
  ecs.on(UpdateServiceCommand).callsFake(fake.updateService);
  elb.on(DescribeListenersCommand).callsFake(fake.describeListeners);
  elb.on(DescribeRulesCommand).callsFake(fake.describeRules);
  elb.on(ModifyListenerCommand).callsFake(fake.modifyListener);
  elb.on(ModifyRuleCommand).callsFake(fake.modifyRule);
  elb.on(DescribeTargetHealthCommand).callsFake(fake.describeTargetHealth);
  cw.on(GetMetricDataCommand).callsFake(fake.getMetricData);
  cw.on(DescribeAlarmsCommand).callsFake(fake.describeAlarms);
  return { ecs, elb, cw, autoscaling };
}
