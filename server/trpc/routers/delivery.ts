import { deliveryInput, deliveryReport } from "../../delivery/report.ts";
import { createRouter, procedure } from "../init.ts";

export const deliveryRouter = createRouter({
  metrics: procedure.input(deliveryInput).query(({ ctx, input }) => deliveryReport(ctx.services.prisma, input)),
});
