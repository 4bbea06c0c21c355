import { z } from "zod";
import { createUserInput, listUsers, updateUserInput } from "../../auth/users.ts";
import { createUserInPanel, resetPasswordInPanel, updateUserInPanel } from "../../user-actions.ts";
import { createRouter, procedure } from "../init.ts";

export const usersRouter = createRouter({
  list: procedure.query(({ ctx }) => listUsers(ctx.services.prisma)),
  create: procedure
    .input(createUserInput)
    .mutation(({ ctx, input }) => createUserInPanel(ctx.services, ctx.actor, input)),
  update: procedure
    .input(updateUserInput)
    .mutation(({ ctx, input }) => updateUserInPanel(ctx.services, ctx.actor, input)),
  resetPassword: procedure
    .input(z.object({ id: z.string().uuid("must be a user id") }))
    .mutation(({ ctx, input }) => resetPasswordInPanel(ctx.services, ctx.actor, input.id)),
});
