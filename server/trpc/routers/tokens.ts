import { z } from "zod";
import { createToken, createTokenInput, listTokens, revokeToken } from "../../pipelines/tokens.ts";
import { createRouter, procedure } from "../init.ts";

export const tokensRouter = createRouter({
  list: procedure
    .input(z.object({ serviceId: z.string().uuid("must be a service id") }))
    .query(({ ctx, input }) => listTokens(ctx.services.prisma, input.serviceId)),
  create: procedure
    .input(createTokenInput)
    .mutation(({ ctx, input }) => createToken(ctx.services.prisma, ctx.actor, input)),
  revoke: procedure.input(z.object({ id: z.string().uuid("must be a token id") })).mutation(async ({ ctx, input }) => {
    const token = await revokeToken(ctx.services.prisma, ctx.actor, input.id);
    return { id: token.id, revokedAt: token.revokedAt };
  }),
});
