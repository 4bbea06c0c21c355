/**
 * An environment on the ECS target over the in-memory AWS (FakeAws behind aws-sdk-client-mock), as the
 * ECS tests and the ECS bench set it up: a service with its releases in the database, the first
 * release live on blue in AWS (two tasks, all of every listener's traffic, green empty) and tagged
 * with its release id, and the environment's row. One copy, so they all start from the same AWS.
 */
import pino from "pino";
import type { Prisma, PrismaClient } from "../../server/db/generated/client.ts";
import { createPanelEvents, type PanelEvents } from "../../server/realtime/events.ts";
import { DEFAULT_ALERT_THRESHOLDS, type Policy } from "../../server/releases/policy.ts";
import { Reconciler } from "../../server/releases/reconciler.ts";
import type { EcsClients } from "../../server/targets/ecs/clients.ts";
import { RELEASE_ID_TAG, type EcsConfig } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import type { LocalTarget } from "../../server/targets/local/local-target.ts";
import { createTargetRegistry, reconcilerTargets, type TargetRegistry } from "../../server/targets/registry.ts";
import { type FakeAws, LISTENER, sampleTaskDefinition } from "./fake-aws.ts";

/** The image of `version` in the sample account's registry. */
export const ecsImage = (version: string, repository = "checkout") =>
  `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${repository}:${version}`;

export interface SeededEcsEnvironment {
  serviceId: string;
  environmentId: string;
  /** Release ids by version. */
  releases: Record<string, string>;
}

export async function seedEcsEnvironment(
  prisma: PrismaClient,
  fake: FakeAws,
  options: {
    /** The environment's targetConfig as stored (before validation). */
    targetConfig: unknown;
    policy: Policy;
    /** The first is live. */
    versions: string[];
    slug?: string;
    production?: boolean;
    listeners?: string[];
  },
): Promise<SeededEcsEnvironment> {
  const slug = options.slug ?? "checkout";
  const service = await prisma.service.create({ data: { slug, name: slug[0]!.toUpperCase() + slug.slice(1) } });
  const releases: Record<string, string> = {};
  for (const version of options.versions)
    releases[version] = (
      await prisma.release.create({ data: { serviceId: service.id, version, artifact: ecsImage(version) } })
    ).id;
  const live = options.versions[0]!;
  const td = fake.seedTaskDefinition(sampleTaskDefinition("checkout", ecsImage(live)), [
    { key: RELEASE_ID_TAG, value: releases[live]! },
  ]);
  fake.seedService("blue", td, 2);
  fake.seedService("green", td, 0);
  for (const listener of options.listeners ?? [LISTENER]) fake.seedRoute(listener, { blue: 100, green: 0 });
  const environment = await prisma.environment.create({
    data: {
      serviceId: service.id,
      name: "production",
      position: 0,
      production: options.production ?? false,
      target: "ecs",
      targetConfig: options.targetConfig as Prisma.InputJsonValue,
      policy: options.policy,
      alertThresholds: DEFAULT_ALERT_THRESHOLDS,
      liveSlot: "blue",
      liveReleaseId: releases[live],
    },
  });
  return { serviceId: service.id, environmentId: environment.id, releases };
}

/**
 * A reconciler over the ECS target, wired as server/panel.ts wires it (drivers and gate metrics from
 * the target registry), on the test's clock, with its registry (to validate a target's config as the
 * panel's commands do). Not started.
 */
export function ecsReconciler(options: {
  prisma: PrismaClient;
  clients: (config: EcsConfig) => EcsClients;
  now: () => Date;
  passDeadlineMs?: number;
  events?: PanelEvents;
}): { reconciler: Reconciler; registry: TargetRegistry } {
  const log = pino({ level: "silent" });
  const target = new EcsTarget({ clients: options.clients, now: options.now, log });
  const registry = createTargetRegistry({ local: {} as LocalTarget, prisma: options.prisma, log, ecs: target });
  const reconciler = new Reconciler({
    prisma: options.prisma,
    log,
    events: options.events ?? createPanelEvents(),
    ...reconcilerTargets(registry),
    now: options.now,
    ...(options.passDeadlineMs === undefined ? {} : { passDeadlineMs: options.passDeadlineMs }),
  });
  return { reconciler, registry };
}
