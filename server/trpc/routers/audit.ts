import { auditPageInput, listAuditEvents } from "../../audit/query.ts";
import { verifyAuditChain } from "../../audit/verify.ts";
import { createRouter, procedure } from "../init.ts";

export const auditRouter = createRouter({
  list: procedure.input(auditPageInput).query(({ ctx, input }) => listAuditEvents(ctx.services.prisma, input)),
  verify: procedure.query(({ ctx }) => verifyAuditChain(ctx.services.prisma)),
});
