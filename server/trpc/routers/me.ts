import { z } from "zod";
import { navigationFor } from "../../auth/navigation.ts";
import { setSubscription, subscriptionInput, subscriptions } from "../../governance/maintenance.ts";
import { listNotifications, markRead } from "../../governance/notifications.ts";
import { changeOwnPassword, changePasswordInput } from "../../auth/users.ts";
import { createRouter, procedure } from "../init.ts";

export const meRouter = createRouter({
  get: procedure.query(({ ctx }) => ({ ...ctx.user, navigation: navigationFor(ctx.user.roles) })),
  changePassword: procedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    await changeOwnPassword(ctx.services.prisma, { ...ctx.actor, userId: ctx.user.id }, input);
    return { changed: true };
  }),
  notifications: procedure.query(({ ctx }) => listNotifications(ctx.services.prisma, ctx.user.id)),
  markNotificationsRead: procedure
    .input(z.object({ ids: z.union([z.literal("all"), z.array(z.string().uuid("must be notification ids")).max(500, "must list at most 500")]) }))
    .mutation(async ({ ctx, input }) => ({ marked: await markRead(ctx.services.prisma, ctx.user.id, input.ids) })),
  subscriptions: procedure.query(({ ctx }) => subscriptions(ctx.services.prisma, ctx.user.id)),
  setSubscription: procedure.input(subscriptionInput).mutation(({ ctx, input }) => setSubscription(ctx.services.prisma, { ...ctx.actor, userId: ctx.user.id }, input)),
});
