import {
  setRollbackHooks,
  setRollbackHooksInput,
  setTrafficGenerator,
  setTrafficGeneratorInput,
  updateAlertThresholds,
  updateAlertThresholdsInput,
  updatePolicy,
  updatePolicyInput,
} from "../../releases/catalog.ts";
import { availability, metricSeries, metricSeriesInput } from "../../releases/queries.ts";
import { z } from "zod";
import { createRouter, procedure } from "../init.ts";

export const environmentsRouter = createRouter({
  updatePolicy: procedure.input(updatePolicyInput).mutation(async ({ ctx, input }) => {
    const env = await updatePolicy(ctx.services.prisma, ctx.actor, input);
    return { id: env.id, policy: env.policy };
  }),
  updateAlertThresholds: procedure.input(updateAlertThresholdsInput).mutation(async ({ ctx, input }) => {
    const env = await updateAlertThresholds(ctx.services.prisma, ctx.actor, input);
    return { id: env.id, alertThresholds: env.alertThresholds };
  }),
  setRollbackHooks: procedure.input(setRollbackHooksInput).mutation(async ({ ctx, input }) => {
    const env = await setRollbackHooks(ctx.services.prisma, ctx.actor, input);
    return { id: env.id, hooks: input.hooks.length };
  }),
  setTrafficGenerator: procedure.input(setTrafficGeneratorInput).mutation(async ({ ctx, input }) => {
    const env = await setTrafficGenerator(ctx.services.prisma, ctx.actor, input);
    await ctx.services.targets.prepareEnvironment(env);
    ctx.services.events.emit("overview", "environment:changed", { environmentId: env.id });
    return { id: env.id, trafficGenerator: env.trafficGenerator, trafficRate: env.trafficRate };
  }),
  metrics: procedure.input(metricSeriesInput).query(({ ctx, input }) => metricSeries(ctx.services.prisma, input)),
  availability: procedure.input(z.object({ environmentId: z.string().uuid("must be an environment id") })).query(({ ctx, input }) => availability(ctx.services.prisma, input.environmentId)),
  alerts: procedure
    .input(z.object({ environmentId: z.string().uuid("must be an environment id").optional(), openOnly: z.boolean().default(false) }))
    .query(({ ctx, input }) =>
      ctx.services.prisma.alert.findMany({
        where: { ...(input.environmentId ? { environmentId: input.environmentId } : {}), ...(input.openOnly ? { resolvedAt: null } : {}) },
        orderBy: { startedAt: "desc" },
        take: 100,
        include: { environment: { select: { name: true, service: { select: { name: true } } } } },
      }),
    ),
});
