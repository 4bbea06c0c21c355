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
import { createRouter, procedure } from "../init.ts";

const id = z.object({ id: z.string().uuid("must be a change request id") });

export const changesRouter = createRouter({
  list: procedure.input(listChangesInput).query(({ ctx, input }) => listChangeRequests(ctx.services.prisma, input)),
  get: procedure.input(id).query(({ ctx, input }) => changeRequestDetail(ctx.services.prisma, input.id, ctx.user)),
  inbox: procedure.query(({ ctx }) => inbox(ctx.services.prisma, ctx.user)),
  create: procedure.input(createChangeInput).mutation(({ ctx, input }) => createChangeRequest(ctx.services.prisma, ctx.services.notifier, { ...ctx.actor, userId: ctx.user.id }, input)),
  update: procedure.input(updateChangeInput).mutation(({ ctx, input }) => updateChangeRequest(ctx.services.prisma, ctx.services.notifier, { ...ctx.actor, userId: ctx.user.id }, input)),
  approve: procedure.input(decideInput).mutation(({ ctx, input }) => decideChangeRequest(ctx.services.prisma, ctx.services.notifier, { ...ctx.actor, userId: ctx.user.id, roles: ctx.user.roles }, "approved", input)),
  reject: procedure.input(decideInput).mutation(({ ctx, input }) => decideChangeRequest(ctx.services.prisma, ctx.services.notifier, { ...ctx.actor, userId: ctx.user.id, roles: ctx.user.roles }, "rejected", input)),
  withdraw: procedure.input(id).mutation(async ({ ctx, input }) => {
    await withdrawChangeRequest(ctx.services.prisma, { ...ctx.actor, userId: ctx.user.id }, input.id);
    return { id: input.id, status: "withdrawn" };
  }),
  policies: procedure.query(({ ctx }) => listPolicies(ctx.services.prisma)),
  updatePolicy: procedure.input(policyInput).mutation(({ ctx, input }) => updatePolicyRow(ctx.services.prisma, ctx.actor, input)),
});
