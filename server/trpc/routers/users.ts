import { z } from "zod";
import { createUser, createUserInput, listUsers, resetPassword, updateUser, updateUserInput } from "../../auth/users.ts";
import { createRouter, procedure } from "../init.ts";

export const usersRouter = createRouter({
  list: procedure.query(({ ctx }) => listUsers(ctx.services.prisma)),
  create: procedure.input(createUserInput).mutation(async ({ ctx, input }) => {
    const result = await createUser(ctx.services.prisma, ctx.actor, input);
    ctx.services.events.usersChanged();
    return result;
  }),
  update: procedure.input(updateUserInput).mutation(async ({ ctx, input }) => {
    const user = await updateUser(ctx.services.prisma, ctx.actor, input);
    ctx.services.events.usersChanged();
    return user;
  }),
  resetPassword: procedure.input(z.object({ id: z.string().uuid("must be a user id") })).mutation(async ({ ctx, input }) => {
    const result = await resetPassword(ctx.services.prisma, ctx.actor, input.id);
    ctx.services.events.usersChanged();
    return result;
  }),
});
