import { z } from "zod";
import {
  closeEmergency,
  decideEmergency,
  decideEmergencyInput,
  listEmergencies,
  overdueReviews,
  requestEmergency,
  requestEmergencyInput,
  signOffReview,
  updateReview,
  updateReviewInput,
} from "../../governance/emergencies.ts";
import { createRule, deleteRule, updateRule, updateRuleInput, upcomingWindows } from "../../governance/maintenance.ts";
import {
  cancelScheduledDeployment,
  cancelScheduleInput,
  listScheduledDeployments,
  scheduleDeployment,
  scheduleInput,
} from "../../governance/scheduled-deployments.ts";
import { windowRuleInput } from "../../governance/windows.ts";
import { createRouter, procedure } from "../init.ts";

const id = (what: string) => z.object({ id: z.string().uuid(`must be ${what} id`) });

export const maintenanceRouter = createRouter({
  windows: procedure
    .input(
      z.object({
        serviceId: z.string().uuid("must be a service id").nullable().default(null),
        count: z.number().int().min(1, "must be at least 1").max(50, "must be at most 50").default(6),
      }),
    )
    .query(({ ctx, input }) => upcomingWindows(ctx.services.prisma, input)),
  rules: procedure.query(({ ctx }) =>
    ctx.services.prisma.maintenanceWindowRule.findMany({ orderBy: { createdAt: "asc" } }),
  ),
  createRule: procedure
    .input(windowRuleInput)
    .mutation(({ ctx, input }) => createRule(ctx.services.prisma, ctx.actor, input)),
  updateRule: procedure
    .input(updateRuleInput)
    .mutation(({ ctx, input }) => updateRule(ctx.services.prisma, ctx.actor, input)),
  deleteRule: procedure.input(id("a window rule")).mutation(async ({ ctx, input }) => {
    await deleteRule(ctx.services.prisma, ctx.actor, input.id);
    return { id: input.id };
  }),
  emergencies: procedure.query(({ ctx }) => listEmergencies(ctx.services.prisma)),
  overdueReviews: procedure.query(({ ctx }) => overdueReviews(ctx.services.prisma)),
  requestEmergency: procedure
    .input(requestEmergencyInput)
    .mutation(({ ctx, input }) => requestEmergency(ctx.services.prisma, ctx.services.notifier, ctx.actor, input)),
  authorizeEmergency: procedure
    .input(decideEmergencyInput)
    .mutation(({ ctx, input }) =>
      decideEmergency(ctx.services.prisma, ctx.services.notifier, ctx.actor, "authorized", input),
    ),
  rejectEmergency: procedure
    .input(decideEmergencyInput)
    .mutation(({ ctx, input }) =>
      decideEmergency(ctx.services.prisma, ctx.services.notifier, ctx.actor, "rejected", input),
    ),
  closeEmergency: procedure.input(id("an emergency")).mutation(async ({ ctx, input }) => {
    await closeEmergency(ctx.services.prisma, ctx.actor, input.id);
    return { id: input.id, status: "closed" };
  }),
  updateReview: procedure
    .input(updateReviewInput)
    .mutation(({ ctx, input }) => updateReview(ctx.services.prisma, ctx.services.notifier, ctx.actor, input)),
  scheduled: procedure
    .input(z.object({ changeRequestId: z.string().uuid("must be a change request id").optional() }).default({}))
    .query(({ ctx, input }) => listScheduledDeployments(ctx.services.prisma, input)),
  schedule: procedure
    .input(scheduleInput)
    .mutation(({ ctx, input }) => scheduleDeployment(ctx.services.prisma, ctx.actor, input)),
  cancelSchedule: procedure
    .input(cancelScheduleInput)
    .mutation(({ ctx, input }) => cancelScheduledDeployment(ctx.services.prisma, ctx.actor, input)),
  signOffReview: procedure
    .input(id("a review"))
    .mutation(({ ctx, input }) => signOffReview(ctx.services.prisma, ctx.actor, input.id)),
});
