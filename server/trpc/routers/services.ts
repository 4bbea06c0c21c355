import { z } from "zod";
import { createService, createServiceInput } from "../../releases/catalog.ts";
import { overview, serviceDetail } from "../../releases/queries.ts";
import { createRouter, procedure } from "../init.ts";

export const servicesRouter = createRouter({
  overview: procedure.query(({ ctx }) => overview(ctx.services.prisma)),
  list: procedure.query(({ ctx }) => ctx.services.prisma.service.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true, slug: true, description: true } })),
  get: procedure.input(z.object({ id: z.string().uuid("must be a service id") })).query(async ({ ctx, input }) => {
    const detail = await serviceDetail(ctx.services.prisma, input.id);
    const endpoints = await Promise.all(detail.environments.map((env) => ctx.services.targets.endpoint(env)));
    return { ...detail, environments: detail.environments.map((env, i) => ({ ...env, endpoint: endpoints[i] ?? null })) };
  }),
  create: procedure.input(createServiceInput).mutation(async ({ ctx, input }) => {
    const result = await createService(ctx.services.prisma, ctx.actor, input);
    for (const env of result.environments) await ctx.services.targets.prepareEnvironment(env);
    ctx.services.events.emit("overview", "service:created", { serviceId: result.service.id });
    return result.service;
  }),
});
