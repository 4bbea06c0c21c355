/**
 * The ECS target: blue and green are two ECS services behind an Application Load Balancer listener
 * (or listener rule) whose forward action splits traffic between their two target groups by weight;
 * gates read CloudWatch's load-balancer metrics per target group.
 *
 * Everything is read from AWS on every pass — which release runs where, how many tasks are healthy,
 * what the weights are — and every write is skipped when AWS already holds the wanted state, so a
 * pass interrupted half-way (a crash, a throttled call past the retry budget) is simply observed and
 * carried on by the next one.
 *
 * Which release runs in a slot: the task definition a service runs carries the tag
 * `greenlight:release-id` (set by ensureRelease when it registers the revision). A task definition
 * without the tag (one registered outside the panel) runs "no known release" (null).
 */
import { LRUCache } from "lru-cache";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type ContainerDefinition,
  type Deployment,
  type RegisterTaskDefinitionRequest,
  type Service,
  type Tag,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { DescribeTargetHealthCommand, type TargetHealthDescription } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Logger } from "pino";
import {
  otherSlot,
  type DriverCallOptions,
  type MetricsWindow,
  SLOTS,
  type EnvironmentRef,
  type Observed,
  type ReleaseRef,
  type Slot,
  type SlotState,
  type TargetDriver,
  type Weights,
  type WindowMetrics,
} from "../driver.ts";
import { namingMissing, withSignal, type EcsClients, type EcsClientsFor } from "./clients.ts";
import { alarmSignals, describeAlarms } from "./alarms.ts";
import { capacityBeforeScaleToZero, capacityToCopy, registerCapacity, scalableTargets } from "./autoscaling.ts";
import {
  baselineQuery,
  fetchSeries,
  highResolutionQuery,
  loadBalancerErrors,
  metricsQuery,
  noPeriodYet,
  readMetrics,
} from "./cloudwatch.ts";
import { RELEASE_ID_TAG, RELEASE_VERSION_TAG, requireEcsConfig, type EcsConfig } from "./config.ts";
import {
  combinedWeights,
  describeRoute,
  forwardAction,
  formatWeights,
  readRoute,
  readRoutes,
  routeMatches,
  writeForward,
  type RouteRef,
} from "./route.ts";
import { ownTrafficShifting } from "./verify.ts";

export interface EcsTargetOptions {
  /** The AWS clients for an environment's configuration (injectable: tests pass mocked ones). */
  clients: EcsClientsFor;
  log?: Logger;
  /** The clock used to judge how long a rollout has been in progress. */
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

interface TaskDefinitionInfo {
  releaseId: string | null;
  image: string | null;
}

interface SlotReading {
  service: Service;
  taskDefinition: TaskDefinitionInfo;
  /** A deployment ECS's circuit breaker gave up on and rolled back, with the release it tried. */
  rolledBack: { deployment: Deployment; releaseId: string } | null;
  targets: TargetHealthDescription[];
}

const WRITE_REGISTERABLE: (keyof TaskDefinition & keyof RegisterTaskDefinitionRequest)[] = [
  "family",
  "taskRoleArn",
  "executionRoleArn",
  "networkMode",
  "volumes",
  "placementConstraints",
  "requiresCompatibilities",
  "cpu",
  "memory",
  "pidMode",
  "ipcMode",
  "proxyConfiguration",
  "inferenceAccelerators",
  "ephemeralStorage",
  "runtimePlatform",
  "enableFaultInjection",
];

const CACHE_LIMIT = 500;
const UNTAGGED_TTL_MS = 60_000;

export class EcsTarget implements TargetDriver {
  readonly kind = "ecs" as const;
  private readonly clientsFor: EcsClientsFor;
  private readonly log: Logger | undefined;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  /**
   * Task definition ARN → its release tag and image. A revision's container definitions never
   * change and the tag is written with the revision, so a found tag is kept; an untagged revision is
   * looked at again after a minute. Only a memo of facts AWS can be asked again.
   */
  private readonly taskDefinitions = new LRUCache<string, { info: TaskDefinitionInfo; at: number }>({
    max: CACHE_LIMIT,
  });
  private readonly reading = new Map<string, Promise<TaskDefinitionInfo>>();
  private readonly lastObservation = new Map<string, number>();

  constructor(options: EcsTargetOptions) {
    this.clientsFor = options.clients;
    this.log = options.log?.child({ component: "ecs-target" });
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The AWS clients for a configuration (the scaling and verify views use them too). */
  clients(config: EcsConfig): EcsClients {
    return this.clientsFor(config);
  }

  /**
   * The configuration and clients for one call: every AWS request of the call is bound to
   * `options.signal`, and a missing resource is named with the environment (`where`).
   */
  private context(
    env: EnvironmentRef,
    options?: DriverCallOptions,
  ): { config: EcsConfig; clients: EcsClients; where: string } {
    options?.signal?.throwIfAborted();
    const config = requireEcsConfig(env.targetConfig, `${env.serviceSlug}/${env.name}`);
    const where = environmentWhere(env);
    return { config, clients: withSignal(namingMissing(this.clientsFor(config), where), options?.signal), where };
  }

  // ─── Reading AWS ───────────────────────────────────────────────────────────────────────────────

  async describeServices(config: EcsConfig, clients: EcsClients, where: string): Promise<Record<Slot, Service>> {
    const out = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: config.cluster, services: [config.services.blue, config.services.green] }),
    );
    const found = {} as Record<Slot, Service>;
    for (const slot of SLOTS) {
      const name = config.services[slot];
      const service = out.services?.find((s) => s.serviceName === name || s.serviceArn?.endsWith(`/${name}`));
      if (!service) {
        const failure = out.failures?.find((f) => f.arn?.endsWith(`/${name}`) || f.arn === name);
        const why =
          failure?.reason && failure.reason !== "MISSING"
            ? `, ${failure.reason}${failure.detail ? `: ${failure.detail}` : ""}`
            : "";
        throw new Error(
          `service ${name} (the ${slot} slot) does not exist in cluster ${config.cluster} (${where}${why})`,
        );
      }
      if (service.status && service.status !== "ACTIVE")
        throw new Error(`The ${slot} ECS service "${name}" is ${service.status}, not ACTIVE`);
      found[slot] = service;
    }
    return found;
  }

  async taskDefinitionInfo(
    clients: EcsClients,
    config: EcsConfig,
    arn: string | undefined,
  ): Promise<TaskDefinitionInfo> {
    if (!arn) return { releaseId: null, image: null };
    const cached = this.taskDefinitions.get(arn);
    if (cached && (cached.info.releaseId !== null || Date.now() - cached.at < UNTAGGED_TTL_MS)) return cached.info;
    // Both slots often run the same revision: one DescribeTaskDefinition for both.
    const inFlight = this.reading.get(arn);
    if (inFlight) return inFlight;
    const read = (async () => {
      const { taskDefinition, tags } = await this.describeTaskDefinition(clients, arn);
      const info = {
        releaseId: tags.find((t) => t.key === RELEASE_ID_TAG)?.value ?? null,
        image: taskDefinition.containerDefinitions?.find((c) => c.name === config.containerName)?.image ?? null,
      };
      this.taskDefinitions.set(arn, { info, at: Date.now() });
      return info;
    })().finally(() => this.reading.delete(arn));
    this.reading.set(arn, read);
    return read;
  }

  private async describeTaskDefinition(
    clients: EcsClients,
    arn: string,
  ): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] }> {
    const out = await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] }));
    if (!out.taskDefinition) throw new Error(`The task definition ${arn} was not found`);
    return { taskDefinition: out.taskDefinition, tags: out.tags ?? [] };
  }

  private async targetHealth(clients: EcsClients, targetGroupArn: string): Promise<TargetHealthDescription[]> {
    const out = await clients.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
    return out.TargetHealthDescriptions ?? [];
  }

  /** Every listener and rule that carries the environment's traffic. */
  private routeRefs(config: EcsConfig): RouteRef[] {
    return config.routes.map((r): RouteRef =>
      r.kind === "listener" ? { kind: "listener", arn: r.arn } : { kind: "rule", arn: r.arn },
    );
  }

  /** Keeps observations of one environment at least pollIntervalMs apart (AWS's API rate limits). */
  private async pace(envId: string, intervalMs: number): Promise<void> {
    if (intervalMs <= 0) return;
    const last = this.lastObservation.get(envId);
    const wait = last === undefined ? 0 : last + intervalMs - Date.now();
    if (wait > 0) await this.sleep(wait);
    this.lastObservation.set(envId, Date.now());
  }

  private async readSlot(
    config: EcsConfig,
    clients: EcsClients,
    service: Service,
    targetGroupArn: string,
  ): Promise<SlotReading> {
    const [taskDefinition, targets] = await Promise.all([
      this.taskDefinitionInfo(clients, config, service.taskDefinition),
      this.targetHealth(clients, targetGroupArn),
    ]);
    let rolledBack: SlotReading["rolledBack"] = null;
    const primary = primaryDeployment(service);
    const failed = (service.deployments ?? [])
      .filter((d) => d !== primary && d.rolloutState === "FAILED")
      .sort(byNewest)[0];
    if (failed && failed.taskDefinition !== service.taskDefinition) {
      const info = await this.taskDefinitionInfo(clients, config, failed.taskDefinition);
      if (info.releaseId && info.releaseId !== taskDefinition.releaseId)
        rolledBack = { deployment: failed, releaseId: info.releaseId };
    }
    return { service, taskDefinition, rolledBack, targets };
  }

  async observe(env: EnvironmentRef, options?: DriverCallOptions): Promise<Observed> {
    const { config, clients, where } = this.context(env, options);
    await this.pace(env.id, config.pollIntervalMs);
    const [services, routes] = await Promise.all([
      this.describeServices(config, clients, where),
      readRoutes(clients.elb, this.routeRefs(config), config),
    ]);
    const [blue, green] = await Promise.all(
      SLOTS.map((slot) => this.readSlot(config, clients, services[slot], config.targetGroups[slot])),
    );
    const now = this.now();
    return {
      slots: { blue: slotState("blue", blue!, config, now), green: slotState("green", green!, config, now) },
      weights: combinedWeights(routes),
    };
  }

  // ─── Writing AWS ───────────────────────────────────────────────────────────────────────────────

  async ensureRelease(
    env: EnvironmentRef,
    slot: Slot,
    release: ReleaseRef,
    options?: DriverCallOptions,
  ): Promise<void> {
    const { config, clients, where } = this.context(env, options);
    const services = await this.describeServices(config, clients, where);
    const target = services[slot];
    const live = services[otherSlot(slot)];
    // Its UpdateService would start ECS's own shift of the listener, fighting the panel's.
    const shifting = ownTrafficShifting(target);
    if (shifting) throw new Error(`Not deploying ${release.version} to ${slot}: ${shifting}`);
    // The live slot's capacity; with nothing live yet (a first release), the slot's own, at least one.
    const desiredCount = (live.desiredCount ?? 0) > 0 ? live.desiredCount! : Math.max(target.desiredCount ?? 0, 1);
    const current = await this.taskDefinitionInfo(clients, config, target.taskDefinition);
    if (current.releaseId === release.id) {
      // Already points at the release; only bring it back up if it was scaled to zero. A rollout
      // that failed before (and was scaled down) gets a new deployment, or it would read FAILED again.
      if ((target.desiredCount ?? 0) === 0) {
        await this.copyLiveCapacity(config, clients, slot);
        const failedBefore = primaryDeployment(target)?.rolloutState === "FAILED";
        await clients.ecs.send(
          new UpdateServiceCommand({
            cluster: config.cluster,
            service: config.services[slot],
            desiredCount,
            ...(failedBefore ? { forceNewDeployment: true } : {}),
          }),
        );
      }
      return;
    }
    if (!live.taskDefinition)
      throw new Error(
        `The live ECS service "${config.services[otherSlot(slot)]}" has no task definition to derive ${release.version}'s from`,
      );
    const source = await this.describeTaskDefinition(clients, live.taskDefinition);
    const request = deriveTaskDefinition(source.taskDefinition, source.tags, config.containerName, release);
    const registered = await clients.ecs.send(new RegisterTaskDefinitionCommand(request));
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new Error(`RegisterTaskDefinition returned no ARN for ${request.family}`);
    this.taskDefinitions.set(arn, { info: { releaseId: release.id, image: release.artifact }, at: Date.now() });
    await this.copyLiveCapacity(config, clients, slot);
    await clients.ecs.send(
      new UpdateServiceCommand({
        cluster: config.cluster,
        service: config.services[slot],
        taskDefinition: arn,
        desiredCount,
      }),
    );
    this.log?.info(
      { environmentId: env.id, slot, taskDefinition: arn, desiredCount },
      `ECS service ${config.services[slot]} updated to ${release.version}`,
    );
  }

  /**
   * Sets the weights on every route that does not hold them yet (in parallel: one step for all),
   * then reads every route back; a route that does not hold them is an error naming it.
   */
  async setWeights(env: EnvironmentRef, weights: Weights, options?: DriverCallOptions): Promise<void> {
    assertWeights(weights);
    const { config, clients } = this.context(env, options);
    const refs = this.routeRefs(config);
    const states = await readRoutes(clients.elb, refs, config);
    const stale = states.filter((state) => !routeMatches(state, config, weights));
    if (stale.length === 0) return;
    await Promise.all(stale.map((state) => writeForward(clients.elb, state, forwardAction(config, weights))));
    const after = await readRoutes(clients.elb, refs, config);
    const wrong = after.filter((state) => state.weights.blue !== weights.blue || state.weights.green !== weights.green);
    if (wrong.length > 0) {
      throw new Error(
        `${wrong.map((state) => `The ${describeRoute(state.ref)}'s weights read back as ${formatWeights(state.weights)}`).join("; ")}, expected ${formatWeights(weights)}`,
      );
    }
  }

  async scale(env: EnvironmentRef, slot: Slot, count: number, options?: DriverCallOptions): Promise<void> {
    if (!Number.isInteger(count) || count < 0) throw new Error(`Cannot scale to ${count} tasks`);
    const { config, clients, where } = this.context(env, options);
    if (count === 0) {
      // Application Auto Scaling would start again what a minimum above 0 requires.
      const lower = capacityBeforeScaleToZero((await scalableTargets(clients.autoscaling, config))[slot]);
      if (lower) await registerCapacity(clients.autoscaling, config, slot, lower);
    }
    const services = await this.describeServices(config, clients, where);
    if ((services[slot].desiredCount ?? 0) === count) return;
    await clients.ecs.send(
      new UpdateServiceCommand({ cluster: config.cluster, service: config.services[slot], desiredCount: count }),
    );
  }

  /** Before a slot is scaled up: the live slot's auto-scaling bounds, where Application Auto Scaling manages it. */
  private async copyLiveCapacity(config: EcsConfig, clients: EcsClients, slot: Slot): Promise<void> {
    const targets = await scalableTargets(clients.autoscaling, config);
    const copy = capacityToCopy(targets[otherSlot(slot)], targets[slot]);
    if (copy) await registerCapacity(clients.autoscaling, config, slot, copy);
  }

  /**
   * CloudWatch's figures for the window (cloudwatch.ts). With `newSlot`, also what the target says is
   * wrong with it: unhealthy hosts, and load-balancer 5xx attributed to it (a second GetMetricData,
   * for the periods before the step, only when the load balancer answered 5xx in the window).
   */
  async metrics(env: EnvironmentRef, window: MetricsWindow, options?: DriverCallOptions): Promise<WindowMetrics> {
    const { config, clients, where } = this.context(env, options);
    // A step is judged: the listed alarms count at once, whether or not a period is in yet.
    const alarms =
      window.newSlot && config.alarmNames.length > 0 ? describeAlarms(clients.cloudwatch, config.alarmNames) : null;
    alarms?.catch(() => {}); // awaited below; a failure meanwhile is not an unhandled rejection
    // A judged window (it names the new slot) is judged on its own periods only; see PeriodAlignment.
    const query = metricsQuery(config, window, window.newSlot ? "inside" : "covering");
    const results = query ? await fetchSeries(clients.cloudwatch, query) : null;
    const metrics =
      query && results
        ? readMetrics(window, query, results, window.newSlot)
        : noPeriodYet(window, config.metricsPeriodSeconds);
    const signals = [...(metrics.signals ?? [])];
    if (query && results && window.newSlot && results.get("elb5xx")?.values.some((v) => v > 0)) {
      const baseline = await fetchSeries(clients.cloudwatch, baselineQuery(config, window.from));
      const signal = loadBalancerErrors(config, results, baseline, window.newSlot);
      if (signal) signals.push(signal);
    }
    if (alarms) signals.push(...alarmSignals(config.alarmNames, await alarms, where));
    return { ...metrics, signals };
  }

  /**
   * The charts' figures for a window: the service's own high-resolution metrics where configured
   * (10 s periods, say), else the load balancer's per-period figures the gates read.
   */
  async chartMetrics(
    env: EnvironmentRef,
    window: { from: Date; to: Date },
    options?: DriverCallOptions,
  ): Promise<WindowMetrics> {
    const { config, clients } = this.context(env, options);
    const hr = config.highResolutionMetrics;
    if (!hr) return this.metrics(env, window, options);
    const query = highResolutionQuery(hr, window);
    if (!query) return noPeriodYet(window, hr.periodSeconds);
    return readMetrics(window, query, await fetchSeries(clients.cloudwatch, query));
  }

  async slotUrl(env: EnvironmentRef, slot: Slot, options?: DriverCallOptions): Promise<string> {
    const { config, clients } = this.context(env, options);
    const url = config.smokeTestBaseUrls?.[slot];
    if (!url) {
      throw new Error(
        `Smoke tests on ECS need a URL that reaches the ${slot} slot directly: set smokeTestBaseUrls.${slot} in ${env.name}'s ECS configuration (for example a test listener's address), or remove the policy's smoke tests`,
      );
    }
    if (config.testListenerArn) {
      // The test listener forwards everything to the slot under test.
      const ref: RouteRef = { kind: "listener", arn: config.testListenerArn };
      const only: Weights = slot === "blue" ? { blue: 100, green: 0 } : { blue: 0, green: 100 };
      const state = await readRoute(clients.elb, ref, config);
      if (!routeMatches(state, config, only)) {
        await writeForward(clients.elb, state, forwardAction(config, only));
        const after = await readRoute(clients.elb, ref, config);
        if (after.weights[slot] !== 100)
          throw new Error(
            `The test listener's weights read back as ${formatWeights(after.weights)}, expected all on ${slot}`,
          );
      }
    }
    return url;
  }
}

// ─── Pure parts (exported for tests and the plan view) ─────────────────────────────────────────────

/** An environment in messages about missing resources: `environment production of checkout`. */
export const environmentWhere = (env: { name: string; serviceSlug: string }) =>
  `environment ${env.name} of ${env.serviceSlug}`;

export function assertWeights(weights: Weights): void {
  for (const slot of SLOTS) {
    const w = weights[slot];
    if (!Number.isInteger(w) || w < 0 || w > 100)
      throw new Error(`Weight of ${slot} must be a whole percentage between 0 and 100, got ${w}`);
  }
  if (weights.blue + weights.green !== 100)
    throw new Error(`Weights must add up to 100, got ${formatWeights(weights)}`);
}

const byNewest = (a: Deployment, b: Deployment) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0);

export function primaryDeployment(service: Service): Deployment | undefined {
  return service.deployments?.find((d) => d.status === "PRIMARY");
}

/** The live slot's task definition with only the container's image changed, tagged with the release. */
export function deriveTaskDefinition(
  source: TaskDefinition,
  sourceTags: Tag[],
  containerName: string,
  release: Pick<ReleaseRef, "id" | "version" | "artifact">,
): RegisterTaskDefinitionRequest {
  const containers = source.containerDefinitions ?? [];
  if (!containers.some((c) => c.name === containerName)) {
    throw new Error(
      `The task definition ${source.taskDefinitionArn ?? source.family} has no container named "${containerName}" (it has ${containers.map((c) => c.name).join(", ") || "none"}); fix containerName`,
    );
  }
  const request: RegisterTaskDefinitionRequest = { family: source.family, containerDefinitions: undefined };
  for (const key of WRITE_REGISTERABLE) {
    if (source[key] !== undefined) (request as unknown as Record<string, unknown>)[key] = source[key];
  }
  request.containerDefinitions = containers.map((c): ContainerDefinition =>
    c.name === containerName ? { ...c, image: release.artifact } : c,
  );
  const kept = sourceTags.filter(
    (t) => t.key && !t.key.startsWith("aws:") && t.key !== RELEASE_ID_TAG && t.key !== RELEASE_VERSION_TAG,
  );
  request.tags = [
    ...kept,
    { key: RELEASE_ID_TAG, value: release.id },
    { key: RELEASE_VERSION_TAG, value: release.version.slice(0, 256) },
  ];
  return request;
}

function describeTarget(t: TargetHealthDescription): string {
  const where = `${t.Target?.Id ?? "?"}${t.Target?.Port ? `:${t.Target.Port}` : ""}`;
  const h = t.TargetHealth;
  return `${where} ${h?.State ?? "unknown"}${h?.Reason ? ` (${h.Reason}${h.Description ? `: ${h.Description}` : ""})` : ""}`;
}

/** What AWS says about a slot, in one line: rollout state and reason, counts, unhealthy targets, recent events. */
function slotDetail(reading: SlotReading, primary: Deployment | undefined, extra: string[] = []): string {
  const s = reading.service;
  const parts = [...extra];
  if (primary?.rolloutState && primary.rolloutState !== "COMPLETED")
    parts.push(`rollout ${primary.rolloutState}${primary.rolloutStateReason ? `: ${primary.rolloutStateReason}` : ""}`);
  parts.push(`${s.runningCount ?? 0}/${s.desiredCount ?? 0} tasks running, ${s.pendingCount ?? 0} pending`);
  const unhealthy = reading.targets.filter(
    (t) => t.TargetHealth?.State !== "healthy" && t.TargetHealth?.State !== "draining",
  );
  if (reading.targets.length === 0 && (s.runningCount ?? 0) > 0)
    parts.push("no targets registered in the slot's target group (does the service register its tasks there?)");
  if (unhealthy.length)
    parts.push(
      `targets not healthy: ${unhealthy.slice(0, 5).map(describeTarget).join("; ")}${unhealthy.length > 5 ? ` and ${unhealthy.length - 5} more` : ""}`,
    );
  const since = primary?.createdAt?.getTime() ?? 0;
  const events = (s.events ?? []).filter((e) => (e.createdAt?.getTime() ?? 0) >= since).slice(0, 3);
  if (events.length) parts.push(`ECS: ${events.map((e) => e.message).join(" | ")}`);
  return parts.join("; ");
}

/** Maps what AWS reports about one service and its target group to the engine's view of a slot. */
export function slotState(
  slot: Slot,
  reading: SlotReading,
  config: Pick<EcsConfig, "steadyStateTimeoutSeconds">,
  now: Date,
): SlotState {
  const s = reading.service;
  const desired = s.desiredCount ?? 0;
  const running = s.runningCount ?? 0;
  const pending = s.pendingCount ?? 0;
  const healthy = reading.targets.filter((t) => t.TargetHealth?.State === "healthy").length;
  const base = { slot, desired, running, pending, healthy };
  const primary = primaryDeployment(s);

  // Nothing runs and nothing is wanted: whatever task definition it points at, no release runs here.
  if (desired === 0 && running === 0 && pending === 0)
    return { ...base, releaseId: null, rollout: "stopped", detail: null };
  if (reading.rolledBack) {
    const d = reading.rolledBack.deployment;
    return {
      ...base,
      releaseId: reading.rolledBack.releaseId,
      rollout: "failed",
      detail: slotDetail(reading, primary, [
        `ECS rolled the deployment back: ${d.rolloutStateReason ?? "no reason given"}`,
      ]),
    };
  }
  const releaseId = reading.taskDefinition.releaseId;
  if (primary?.rolloutState === "FAILED") {
    return {
      ...base,
      releaseId,
      rollout: "failed",
      detail: slotDetail(reading, primary, [
        `ECS deployment failed: ${primary.rolloutStateReason ?? "no reason given"}`,
      ]),
    };
  }
  const settled = primary?.rolloutState ? primary.rolloutState === "COMPLETED" : (s.deployments?.length ?? 0) <= 1;
  const notHealthy = reading.targets.filter(
    (t) => t.TargetHealth?.State !== "healthy" && t.TargetHealth?.State !== "draining",
  ).length;
  if (settled && running === desired && pending === 0 && healthy >= desired && notHealthy === 0)
    return { ...base, releaseId, rollout: "steady", detail: null };

  const startedAt = primary?.createdAt?.getTime();
  if (
    primary?.rolloutState === "IN_PROGRESS" &&
    startedAt !== undefined &&
    now.getTime() - startedAt > config.steadyStateTimeoutSeconds * 1000
  ) {
    return {
      ...base,
      releaseId,
      rollout: "failed",
      detail: slotDetail(reading, primary, [
        `not steady ${config.steadyStateTimeoutSeconds} s after the deployment started`,
      ]),
    };
  }
  return { ...base, releaseId, rollout: "in_progress", detail: slotDetail(reading, primary) };
}
