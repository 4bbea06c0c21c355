/**
 * Driving a deployment in a running panel, the one way every caller does it (the tRPC router for
 * people, the REST API for pipelines).
 *
 * A start runs the engine's own checks, the panel's governance start guards, an authorised
 * emergency's lift of the promotion order and the target's configuration check. A pipeline gets
 * the governance a person does, except that no emergency lifts it (emergencies are authorised for people). A command (pause, resume, promote, rollback, abort) runs the
 * engine's transition. After either, the reconciler is kicked and watchers are told.
 */
import type { z } from "zod";
import type { Actor } from "./audit/actor.ts";
import { activeEmergencyFor } from "./governance/emergencies.ts";
import { runCommand, startDeployment, type commandInput, type startDeploymentInput } from "./releases/commands.ts";
import type { Command } from "./releases/state-machine.ts";
import type { Services } from "./services.ts";

export async function startDeploymentInPanel(
  services: Services,
  actor: Actor,
  input: z.infer<typeof startDeploymentInput>,
) {
  const deployment = await startDeployment(services.prisma, actor, input, {
    validateTarget: (kind, config) => services.targets.validateConfig(kind as "local" | "ecs", config),
    guards: services.startGuards,
    // An emergency is authorised for people: a pipeline's token meets the checklist, the window and the
    // change request however the incident goes, or every CI job could deploy anything to production
    // while one is open. A person starts the emergency deployment (or its pipeline, once they hold).
    ...(actor.userId ? { emergencyFor: (tx, environment) => activeEmergencyFor(tx, environment) } : {}),
    timeZone: input.timeZone,
  });
  services.reconciler.kick(deployment.id);
  announceDeploymentChange(services, deployment);
  return deployment;
}

export async function commandDeploymentInPanel(
  services: Services,
  actor: Actor,
  command: Command,
  input: z.infer<typeof commandInput>,
) {
  const deployment = await runCommand(services.prisma, actor, command, input);
  services.reconciler.kick(deployment.id);
  announceDeploymentChange(services, deployment);
  return deployment;
}

/** Pages watching the deployment or the overview refetch (socket events are hints, see ARCHITECTURE.md). */
export function announceDeploymentChange(
  services: Pick<Services, "events">,
  deployment: { id: string; environmentId: string },
) {
  services.events.emit(`deployment:${deployment.id}`, "deployment:changed", { deploymentId: deployment.id });
  services.events.emit("overview", "deployment:changed", {
    deploymentId: deployment.id,
    environmentId: deployment.environmentId,
  });
}
