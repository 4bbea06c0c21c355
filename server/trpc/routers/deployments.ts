import { commandDeploymentInPanel, startDeploymentInPanel } from "../../deployment-actions.ts";
import { commandInput, startDeploymentInput } from "../../releases/commands.ts";
import { deploymentListInput, listDeployments } from "../../releases/queries.ts";
import type { Command } from "../../releases/state-machine.ts";
import { z } from "zod";
import { createRouter, procedure } from "../init.ts";

function commandProcedure(command: Command) {
  return procedure.input(commandInput).mutation(async ({ ctx, input }) => {
    const deployment = await commandDeploymentInPanel(ctx.services, ctx.actor, command, input);
    return { id: deployment.id, status: deployment.status, commandVersion: deployment.commandVersion };
  });
}

export const deploymentsRouter = createRouter({
  list: procedure.input(deploymentListInput).query(({ ctx, input }) => listDeployments(ctx.services.prisma, input)),
  get: procedure
    .input(z.object({ id: z.string().uuid("must be a deployment id") }))
    .query(({ ctx, input }) => ctx.services.deploymentReads.get(input.id)),
  start: procedure.input(startDeploymentInput).mutation(async ({ ctx, input }) => {
    const deployment = await startDeploymentInPanel(ctx.services, ctx.actor, input);
    return { id: deployment.id, status: deployment.status };
  }),
  pause: commandProcedure("pause"),
  resume: commandProcedure("resume"),
  promote: commandProcedure("promote"),
  rollback: commandProcedure("rollback"),
  abort: commandProcedure("abort"),
});
