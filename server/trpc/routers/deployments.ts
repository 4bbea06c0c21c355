import { activeEmergencyFor } from "../../governance/emergencies.ts";
import { commandInput, runCommand, startDeployment, startDeploymentInput } from "../../releases/commands.ts";
import { deploymentDetail, deploymentListInput, listDeployments } from "../../releases/queries.ts";
import type { Command } from "../../releases/state-machine.ts";
import { z } from "zod";
import type { Context } from "../context.ts";
import { createRouter, procedure } from "../init.ts";
import type { Actor } from "../../audit/actor.ts";

function commandProcedure(command: Command) {
  return procedure.input(commandInput).mutation(async ({ ctx, input }) => {
    const deployment = await runCommand(ctx.services.prisma, ctx.actor, command, input);
    ctx.services.reconciler.kick(deployment.id);
    notifyChanged(ctx, deployment.id, deployment.environmentId);
    return { id: deployment.id, status: deployment.status, commandVersion: deployment.commandVersion };
  });
}

function notifyChanged(ctx: Context & { actor: Actor }, deploymentId: string, environmentId: string) {
  ctx.services.events.emit(`deployment:${deploymentId}`, "deployment:changed", { deploymentId });
  ctx.services.events.emit("overview", "deployment:changed", { deploymentId, environmentId });
}

export const deploymentsRouter = createRouter({
  list: procedure.input(deploymentListInput).query(({ ctx, input }) => listDeployments(ctx.services.prisma, input)),
  get: procedure.input(z.object({ id: z.string().uuid("must be a deployment id") })).query(({ ctx, input }) => deploymentDetail(ctx.services.prisma, input.id)),
  start: procedure.input(startDeploymentInput).mutation(async ({ ctx, input }) => {
    const { services } = ctx;
    const deployment = await startDeployment(services.prisma, ctx.actor, input, {
      validateTarget: (kind, config) => services.targets.validateConfig(kind as "local" | "ecs", config),
      guards: services.startGuards,
      emergencyFor: (tx, environment) => activeEmergencyFor(tx, environment),
      timeZone: input.timeZone,
    });
    services.reconciler.kick(deployment.id);
    notifyChanged(ctx, deployment.id, deployment.environmentId);
    return { id: deployment.id, status: deployment.status };
  }),
  pause: commandProcedure("pause"),
  resume: commandProcedure("resume"),
  promote: commandProcedure("promote"),
  rollback: commandProcedure("rollback"),
  abort: commandProcedure("abort"),
});
