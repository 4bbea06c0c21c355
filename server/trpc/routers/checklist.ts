import { z } from "zod";
import { checklistFor, createToken, createTokenInput, listTokens, revokeToken, templateFor, templateInput, tick, tickInput, updateTemplate } from "../../governance/checklist.ts";
import { notFound } from "../../errors.ts";
import { createRouter, procedure } from "../init.ts";

export const checklistRouter = createRouter({
  get: procedure
    .input(z.object({ releaseId: z.string().uuid("must be a release id"), environmentId: z.string().uuid("must be an environment id") }))
    .query(({ ctx, input }) => checklistFor(ctx.services.prisma, input.releaseId, input.environmentId)),
  tick: procedure.input(tickInput).mutation(({ ctx, input }) => tick(ctx.services.prisma, { ...ctx.actor, userId: ctx.user.id }, input)),
  template: procedure.input(z.object({ environmentId: z.string().uuid("must be an environment id") })).query(({ ctx, input }) =>
    ctx.services.prisma.$transaction(async (tx) => {
      const environment = await tx.environment.findUnique({ where: { id: input.environmentId } });
      if (!environment) throw notFound(`Environment ${input.environmentId}`);
      return templateFor(tx, environment);
    }),
  ),
  updateTemplate: procedure.input(templateInput).mutation(({ ctx, input }) => updateTemplate(ctx.services.prisma, ctx.actor, input)),
  tokens: procedure.input(z.object({ serviceId: z.string().uuid("must be a service id") })).query(({ ctx, input }) => listTokens(ctx.services.prisma, input.serviceId)),
  createToken: procedure.input(createTokenInput).mutation(({ ctx, input }) => createToken(ctx.services.prisma, ctx.actor, input)),
  revokeToken: procedure.input(z.object({ id: z.string().uuid("must be a token id") })).mutation(async ({ ctx, input }) => {
    const token = await revokeToken(ctx.services.prisma, ctx.actor, input.id);
    return { id: token.id, revokedAt: token.revokedAt };
  }),
});
