import { navigationFor } from "../../auth/navigation.ts";
import { changeOwnPassword, changePasswordInput } from "../../auth/users.ts";
import { createRouter, procedure } from "../init.ts";

export const meRouter = createRouter({
  get: procedure.query(({ ctx }) => ({ ...ctx.user, navigation: navigationFor(ctx.user.roles) })),
  changePassword: procedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    await changeOwnPassword(ctx.services.prisma, { ...ctx.actor, userId: ctx.user.id }, input);
    return { changed: true };
  }),
});
