/**
 * The catalog's changes in a running panel: what the domain decides (catalog.ts, ecs-settings.ts), then
 * what the target and the watchers must hear of it. A new service's environments are prepared on their
 * target; an environment whose traffic or target changed is prepared again; the overview refetches.
 */
import type { z } from "zod";
import type { Actor } from "./audit/actor.ts";
import { configureEcsTarget, type configureEcsInput } from "./environments/ecs-settings.ts";
import {
  createService,
  setTrafficGenerator,
  type createServiceInput,
  type setTrafficGeneratorInput,
} from "./releases/catalog.ts";
import { serviceDetail } from "./releases/queries.ts";
import type { Services } from "./services.ts";

export async function createServiceInPanel(
  services: Services,
  actor: Actor,
  input: z.infer<typeof createServiceInput>,
) {
  const result = await createService(services.prisma, actor, input);
  for (const env of result.environments) await services.targets.prepareEnvironment(env);
  services.events.emit("overview", "service:created", { serviceId: result.service.id });
  return result.service;
}

/** A service's page: its environments, releases and deployments, and where each environment answers. */
export async function serviceWithEndpoints(services: Services, serviceId: string) {
  const detail = await serviceDetail(services.prisma, serviceId);
  const endpoints = await Promise.all(detail.environments.map((env) => services.targets.endpoint(env)));
  return {
    ...detail,
    environments: detail.environments.map((env, i) => ({ ...env, endpoint: endpoints[i] ?? null })),
  };
}

export async function setTrafficGeneratorInPanel(
  services: Services,
  actor: Actor,
  input: z.infer<typeof setTrafficGeneratorInput>,
) {
  const env = await setTrafficGenerator(services.prisma, actor, input);
  await prepareAndAnnounce(services, env);
  return env;
}

export async function configureEcsTargetInPanel(
  services: Services,
  actor: Actor,
  input: z.infer<typeof configureEcsInput>,
) {
  const env = await configureEcsTarget(services.prisma, actor, input);
  await prepareAndAnnounce(services, env);
  return env;
}

/** An environment whose traffic or target changed: its target-side pieces again, and the overview refetches. */
async function prepareAndAnnounce(services: Services, env: Parameters<Services["targets"]["prepareEnvironment"]>[0]) {
  await services.targets.prepareEnvironment(env);
  services.events.emit("overview", "environment:changed", { environmentId: env.id });
}
