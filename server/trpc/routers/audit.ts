import { deploymentHistory, deploymentHistoryInput } from "../../audit/history.ts";
import { auditPageInput, distinctActions, listAuditEvents, prismaReader } from "../../audit/query.ts";
import { verifyAuditChain } from "../../audit/verify.ts";
import { createRouter, procedure } from "../init.ts";

// Read-only, every one of them: auditors change nothing (test/integration/audit-auditor-readonly.test.ts).
export const auditRouter = createRouter({
  list: procedure.input(auditPageInput).query(({ ctx, input }) => listAuditEvents(ctx.services.prisma, input)),
  verify: procedure.query(async ({ ctx }) =>
    verifyAuditChain(ctx.services.prisma, { checkpoint: await ctx.services.auditCheckpoints.latest() }),
  ),
  /** Every action in the log, for the action filter's suggestions. */
  actions: procedure.query(({ ctx }) => distinctActions(prismaReader(ctx.services.prisma))),
  /** A service's deployments with their approvals and checklist as they stood when each started. */
  deploymentHistory: procedure
    .input(deploymentHistoryInput)
    .query(({ ctx, input }) => deploymentHistory(ctx.services.prisma, input)),
});
