import { z } from "zod";
import {
  changeRequestDetail,
  createChangeInput,
  createChangeRequest,
  decideChangeRequest,
  decideInput,
  inbox,
  listChangeRequests,
  listChangesInput,
  listPolicies,
  policyInput,
  updateChangeInput,
  updateChangeRequest,
  updatePolicyRow,
  withdrawChangeRequest,
} from "../../governance/change-requests.ts";
import { redeployInput, requestRedeploy } from "../../governance/redeploy.ts";
import { createRouter, procedure } from "../init.ts";

const id = z.object({ id: z.string().uuid("must be a change request id") });

export const changesRouter = createRouter({
  list: procedure.input(listChangesInput).query(({ ctx, input }) => listChangeRequests(ctx.services.prisma, input)),
  get: procedure.input(id).query(({ ctx, input }) => changeRequestDetail(ctx.services.prisma, input.id, ctx.user)),
  inbox: procedure.query(({ ctx }) => inbox(ctx.services.prisma, ctx.user)),
  requestRedeploy: procedure
    .input(redeployInput)
    .mutation(({ ctx, input }) => requestRedeploy(ctx.services.prisma, ctx.services.notifier, ctx.actor, input)),
  create: procedure
    .input(createChangeInput)
    .mutation(({ ctx, input }) => createChangeRequest(ctx.services.prisma, ctx.services.notifier, ctx.actor, input)),
  update: procedure
    .input(updateChangeInput)
    .mutation(({ ctx, input }) => updateChangeRequest(ctx.services.prisma, ctx.services.notifier, ctx.actor, input)),
  approve: procedure
    .input(decideInput)
    .mutation(({ ctx, input }) =>
      decideChangeRequest(ctx.services.prisma, ctx.services.notifier, ctx.actor, "approved", input),
    ),
  reject: procedure
    .input(decideInput)
    .mutation(({ ctx, input }) =>
      decideChangeRequest(ctx.services.prisma, ctx.services.notifier, ctx.actor, "rejected", input),
    ),
  withdraw: procedure.input(id).mutation(async ({ ctx, input }) => {
    await withdrawChangeRequest(ctx.services.prisma, ctx.actor, input.id);
    return { id: input.id, status: "withdrawn" };
  }),
  policies: procedure.query(({ ctx }) => listPolicies(ctx.services.prisma)),
  updatePolicy: procedure
    .input(policyInput)
    .mutation(({ ctx, input }) => updatePolicyRow(ctx.services.prisma, ctx.actor, input)),
});
