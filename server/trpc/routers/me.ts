import { z } from "zod";
import { navigationFor } from "../../auth/navigation.ts";
import { setSubscription, subscriptionInput, subscriptions } from "../../governance/maintenance.ts";
import { listNotifications, markRead } from "../../governance/notifications.ts";
import { changePasswordInput } from "../../auth/users.ts";
import { changeOwnPasswordInPanel } from "../../user-actions.ts";
import { createRouter, procedure } from "../init.ts";

export const meRouter = createRouter({
  get: procedure.query(({ ctx }) => {
    const { id, email, name, roles } = ctx.user;
    return { id, email, name, roles, navigation: navigationFor(roles) };
  }),
  changePassword: procedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    const { endedSessions } = await changeOwnPasswordInPanel(
      ctx.services,
      { ...ctx.actor, sessionId: ctx.user.sessionId },
      input,
    );
    return { changed: true, endedSessions };
  }),
  notifications: procedure.query(({ ctx }) => listNotifications(ctx.services.prisma, ctx.user.id)),
  markNotificationsRead: procedure
    .input(
      z.object({
        ids: z.union([
          z.literal("all"),
          z.array(z.string().uuid("must be notification ids")).max(500, "must list at most 500"),
        ]),
      }),
    )
    .mutation(async ({ ctx, input }) => ({ marked: await markRead(ctx.services.prisma, ctx.user.id, input.ids) })),
  subscriptions: procedure.query(({ ctx }) => subscriptions(ctx.services.prisma, ctx.user.id)),
  setSubscription: procedure
    .input(subscriptionInput)
    .mutation(({ ctx, input }) => setSubscription(ctx.services.prisma, ctx.actor, input)),
});
