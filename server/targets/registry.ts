/**
 * The targets a panel can drive, by kind, and the environment-level pieces they need beyond the
 * driver interface (the local target's proxy and traffic generator).
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../db/generated/client.ts";
import type { TargetDriver } from "./driver.ts";
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
}

/** Until an ECS configuration is supported, ECS environments refuse to deploy with a clear reason. */
class UnsupportedTarget implements TargetDriver {
  constructor(readonly kind: "ecs") {}
  private fail(): never {
    throw new Error("The ECS target is not available in this build of the panel");
  }
  observe = async () => this.fail();
  ensureRelease = async () => this.fail();
  setWeights = async () => this.fail();
  scale = async () => this.fail();
  metrics = async () => this.fail();
  slotUrl = async () => this.fail();
}

export function createTargetRegistry(options: { local: LocalTarget; prisma: PrismaClient; log: Logger }): TargetRegistry {
  const ecs = new UnsupportedTarget("ecs");
  return {
    local: options.local,
    driver: (kind) => (kind === "local" ? options.local : ecs),
    validateConfig: (kind) => (kind === "local" ? null : "the ECS target is not available in this build of the panel"),
    async prepareEnvironment(env) {
      if (env.target !== "local") return;
      await options.local.ensureEnvironment(env.id);
      await options.local.setTrafficGenerator(env.id, env.trafficGenerator, env.trafficRate);
    },
    async endpoint(env) {
      return env.target === "local" ? options.local.proxyUrl(env.id) : null;
    },
  };
}
