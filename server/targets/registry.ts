/**
 * The targets a panel can drive, by kind, and the environment-level pieces they need beyond the
 * driver interface (the local target's proxy and traffic generator); and where each environment's
 * gates read their metrics: its Prometheus when it names one, else its target's own figures (and an
 * ECS target's own signals, its alarms and unhealthy hosts, either way).
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../db/generated/client.ts";
import type { DriverCallOptions, EnvironmentRef, MetricsWindow, TargetDriver, WindowMetrics } from "./driver.ts";
import { ecsClientPool } from "./ecs/clients.ts";
import { validateEcsConfig } from "./ecs/config.ts";
import { EcsTarget } from "./ecs/ecs-target.ts";
import type { LocalTarget } from "./local/local-target.ts";
import { PrometheusSource } from "./prometheus/source.ts";

export type TargetKind = "local" | "ecs";

export interface TargetRegistry {
  driver(kind: TargetKind): TargetDriver;
  /** Why an environment's target configuration cannot be used, or null when it can. */
  validateConfig(kind: TargetKind, config: unknown): string | null;
  /** Brings an environment's target-side pieces up to date (idempotent). */
  prepareEnvironment(env: {
    id: string;
    target: TargetKind;
    trafficGenerator: boolean;
    trafficRate: number;
  }): Promise<void>;
  /** Where people reach the environment's service (the local proxy), if the panel knows. */
  endpoint(env: { id: string; target: TargetKind }): Promise<string | null>;
  /**
   * A window's figures for the gates: from the environment's Prometheus when it names one, else from
   * its target. `options.signal` is the pass's: the target's calls (CloudWatch) stop at its deadline.
   */
  metrics(env: EnvironmentRef, window: MetricsWindow, options?: DriverCallOptions): Promise<WindowMetrics>;
  /** Whether the gates read the target's own figures (no Prometheus named): only then may the target's traffic guard act. */
  gatesReadTarget(env: EnvironmentRef): Promise<boolean>;
  /** An environment's Prometheus was named, changed or removed: the next look reads which do afresh. */
  metricsSourceChanged(): void;
  readonly local: LocalTarget;
  readonly ecs: EcsTarget;
}

export interface TargetRegistryOptions {
  local: LocalTarget;
  prisma: PrismaClient;
  log: Logger;
  /** The ECS target to use (tests pass one over mocked AWS clients); by default one over real clients. */
  ecs?: EcsTarget;
  /** An AWS endpoint for every ECS-target client (the SDK also reads AWS_ENDPOINT_URL on its own). */
  awsEndpoint?: string;
}

/**
 * What the reconciler takes from the registry: drivers by kind, and the registry as the gates' metric
 * source. The panel and the tests wire the reconciler through this one function, so a test exercises
 * the path the panel's gate calls take (a test that left out the metric source missed the pass's
 * deadline not reaching CloudWatch).
 */
export function reconcilerTargets(registry: TargetRegistry): {
  drivers: (kind: TargetKind) => TargetDriver;
  metricsSource: TargetRegistry;
} {
  return { drivers: (kind) => registry.driver(kind), metricsSource: registry };
}

export function createTargetRegistry(options: TargetRegistryOptions): TargetRegistry {
  const ecs =
    options.ecs ?? new EcsTarget({ clients: ecsClientPool({ endpoint: options.awsEndpoint }), log: options.log });
  const prometheus = new PrometheusSource({ prisma: options.prisma, log: options.log });
  const driver = (kind: TargetKind): TargetDriver => (kind === "local" ? options.local : ecs);
  return {
    local: options.local,
    ecs,
    driver,
    validateConfig(kind, config) {
      if (kind === "local") return null;
      const result = validateEcsConfig(config);
      return result.ok ? null : result.error;
    },
    async prepareEnvironment(env) {
      // ECS environments have nothing to prepare on the panel's side.
      if (env.target !== "local") return;
      await options.local.ensureEnvironment(env.id);
      await options.local.setTrafficGenerator(env.id, env.trafficGenerator, env.trafficRate);
    },
    async endpoint(env) {
      return env.target === "local" ? options.local.proxyUrl(env.id) : null;
    },
    async metrics(env, window, callOptions) {
      // The signal must reach the target: without it a silent CloudWatch holds the pass for the SDK's
      // own retries (about a minute), long past the pass's deadline. (Prometheus queries have their
      // own 5 s limit.)
      const fromPrometheus = await prometheus.metrics(env, window);
      if (!fromPrometheus) return driver(env.target).metrics(env, window, callOptions);
      // Prometheus gives the figures; what the target itself says is wrong with the new slot (an ECS
      // environment's listed alarms, unhealthy hosts, load-balancer 5xx) still fails the gate. A
      // target that cannot be read fails the pass, as it would without Prometheus: no alarm is
      // assumed quiet.
      if (env.target !== "ecs" || !window.newSlot) return fromPrometheus;
      const { signals = [] } = await ecs.metrics(env, window, callOptions);
      return signals.length
        ? { ...fromPrometheus, signals: [...(fromPrometheus.signals ?? []), ...signals] }
        : fromPrometheus;
    },
    async gatesReadTarget(env) {
      return !(await prometheus.names(env.id));
    },
    metricsSourceChanged() {
      prometheus.forget();
    },
  };
}
