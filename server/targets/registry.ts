/**
 * The targets a panel can drive, by kind, and the environment-level pieces they need beyond the
 * driver interface (the local target's proxy and traffic generator).
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../db/generated/client.ts";
import type { TargetDriver } from "./driver.ts";
import { ecsClientPool } from "./ecs/clients.ts";
import { validateEcsConfig } from "./ecs/config.ts";
import { EcsTarget } from "./ecs/ecs-target.ts";
import type { LocalTarget } from "./local/local-target.ts";

export type TargetKind = "local" | "ecs";

export interface TargetRegistry {
  driver(kind: TargetKind): TargetDriver;
  /** Why an environment's target configuration cannot be used, or null when it can. */
  validateConfig(kind: TargetKind, config: unknown): string | null;
  /** Brings an environment's target-side pieces up to date (idempotent). */
  prepareEnvironment(env: { id: string; target: TargetKind; trafficGenerator: boolean; trafficRate: number }): Promise<void>;
  /** Where people reach the environment's service (the local proxy), if the panel knows. */
  endpoint(env: { id: string; target: TargetKind }): Promise<string | null>;
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

export function createTargetRegistry(options: TargetRegistryOptions): TargetRegistry {
  const ecs = options.ecs ?? new EcsTarget({ clients: ecsClientPool({ endpoint: options.awsEndpoint }), log: options.log });
  return {
    local: options.local,
    ecs,
    driver: (kind) => (kind === "local" ? options.local : ecs),
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
  };
}
