/**
 * Target settings and views: the ECS configuration of an environment (administrators), checking it
 * against AWS, the AWS calls a deployment will make, and the scaling view. Thin: the domain is in
 * server/environments/ecs-settings.ts.
 */
import {
  configureEcsInput,
  ecsDeploymentPlan,
  ecsScaling,
  ecsTargetConfig,
  environmentInput,
  planInput,
  verifyEcsEnvironment,
  verifyEcsInput,
} from "../../environments/ecs-settings.ts";
import { configureEcsTargetInPanel } from "../../catalog-actions.ts";
import { createRouter, procedure } from "../init.ts";

export const targetsRouter = createRouter({
  config: procedure
    .input(environmentInput)
    .query(({ ctx, input }) => ecsTargetConfig(ctx.services.prisma, input.environmentId)),
  configure: procedure.input(configureEcsInput).mutation(async ({ ctx, input }) => {
    const env = await configureEcsTargetInPanel(ctx.services, ctx.actor, input);
    return { id: env.id, target: env.target };
  }),
  verify: procedure
    .input(verifyEcsInput)
    .mutation(({ ctx, input }) => verifyEcsEnvironment(ctx.services.prisma, ctx.services.targets.ecs, input)),
  plan: procedure.input(planInput).query(({ ctx, input }) => ecsDeploymentPlan(ctx.services.prisma, input)),
  scaling: procedure
    .input(environmentInput)
    .query(({ ctx, input }) => ecsScaling(ctx.services.prisma, ctx.services.targets.ecs, input.environmentId)),
});

/**
 * The router on its own, typed for the UI components until `targets: targetsRouter` is part of the
 * app router (server/trpc/root.ts); the paths are the same.
 */
export const targetsOnlyRouter = createRouter({ targets: targetsRouter });
export type TargetsOnlyRouter = typeof targetsOnlyRouter;
