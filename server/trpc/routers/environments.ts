import {
  setRollbackHooks,
  setRollbackHooksInput,
  setTrafficGeneratorInput,
  updateAlertThresholds,
  updateAlertThresholdsInput,
  updatePolicy,
  updatePolicyInput,
} from "../../releases/catalog.ts";
import { setTrafficGeneratorInPanel } from "../../catalog-actions.ts";
import { alertListInput, availability, listAlerts, metricSeries, metricSeriesInput } from "../../releases/queries.ts";
import {
  prometheusEnvironmentInput,
  prometheusSettings,
  removePrometheusSettings,
  savePrometheusSettings,
} from "../../environments/prometheus-settings.ts";
import { prometheusSettingsInput } from "../../targets/prometheus/config.ts";
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
    const env = await setTrafficGeneratorInPanel(ctx.services, ctx.actor, input);
    return { id: env.id, trafficGenerator: env.trafficGenerator, trafficRate: env.trafficRate };
  }),
  // Prometheus as the gates' metric source: saving runs the queries against it first (a dry run).
  prometheus: procedure
    .input(prometheusEnvironmentInput)
    .query(({ ctx, input }) => prometheusSettings(ctx.services.prisma, input.environmentId)),
  setPrometheus: procedure
    .input(prometheusSettingsInput)
    .mutation(({ ctx, input }) => savePrometheusSettings(ctx.services, ctx.actor, input)),
  removePrometheus: procedure
    .input(prometheusEnvironmentInput)
    .mutation(({ ctx, input }) => removePrometheusSettings(ctx.services, ctx.actor, input.environmentId)),
  metrics: procedure.input(metricSeriesInput).query(({ ctx, input }) => metricSeries(ctx.services.prisma, input)),
  availability: procedure
    .input(z.object({ environmentId: z.string().uuid("must be an environment id") }))
    .query(({ ctx, input }) => availability(ctx.services.prisma, input.environmentId)),
  alerts: procedure.input(alertListInput).query(({ ctx, input }) => listAlerts(ctx.services.prisma, input)),
});
