import { z } from "zod";
import {
  checklistFor,
  templateInput,
  templateOfEnvironment,
  tick,
  tickInput,
  tickMany,
  tickManyInput,
  updateTemplate,
} from "../../governance/checklist.ts";
import { createRouter, procedure } from "../init.ts";

export const checklistRouter = createRouter({
  get: procedure
    .input(
      z.object({
        releaseId: z.string().uuid("must be a release id"),
        environmentId: z.string().uuid("must be an environment id"),
      }),
    )
    .query(({ ctx, input }) => checklistFor(ctx.services.prisma, input.releaseId, input.environmentId)),
  tick: procedure.input(tickInput).mutation(({ ctx, input }) => tick(ctx.services.prisma, ctx.actor, input)),
  /** Several manual items at once (the deployment page's "Tick selected"). */
  tickMany: procedure
    .input(tickManyInput)
    .mutation(({ ctx, input }) => tickMany(ctx.services.prisma, ctx.actor, input)),
  template: procedure
    .input(z.object({ environmentId: z.string().uuid("must be an environment id") }))
    .query(({ ctx, input }) => templateOfEnvironment(ctx.services.prisma, input.environmentId)),
  updateTemplate: procedure
    .input(templateInput)
    .mutation(({ ctx, input }) => updateTemplate(ctx.services.prisma, ctx.actor, input)),
});
