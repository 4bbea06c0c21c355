import { z } from "zod";
import { createServiceInPanel, serviceWithEndpoints } from "../../catalog-actions.ts";
import { createServiceInput } from "../../releases/catalog.ts";
import { overview } from "../../overview.ts";
import { overviewQuery } from "../../overview-page.ts";
import { listServices } from "../../releases/queries.ts";
import { createRouter, procedure } from "../init.ts";

export const servicesRouter = createRouter({
  overview: procedure.input(overviewQuery).query(({ ctx, input }) => overview(ctx.services.prisma, input)),
  list: procedure.query(({ ctx }) => listServices(ctx.services.prisma)),
  get: procedure
    .input(z.object({ id: z.string().uuid("must be a service id") }))
    .query(({ ctx, input }) => serviceWithEndpoints(ctx.services, input.id)),
  create: procedure
    .input(createServiceInput)
    .mutation(({ ctx, input }) => createServiceInPanel(ctx.services, ctx.actor, input)),
});
