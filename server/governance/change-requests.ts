/**
 * Change requests: every production deployment carries one, of a type whose policy (data that
 * administrators edit) says which roles must sign. The requester never approves their own change;
 * one person never fills two required approvals; approvals lapse when the release or the type
 * changes; rejecting needs a reason. Approvers are notified when something waits for them.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import { ROLE_LABELS, ROLES, type Role } from "../auth/roles.ts";
import type { ChangeRequest, Prisma, PrismaClient } from "../db/generated/client.ts";
import { conflict, forbidden, invalid, notFound, preconditionFailed } from "../errors.ts";
import { releaseInEnvironment } from "../releases/catalog.ts";
import { evaluateApprovals, rolesOpenTo, type ApprovalRecord } from "./approval-policy.ts";
import type { Notifier } from "./notifications.ts";

export const CHANGE_TYPES = ["standard", "user_facing", "infrastructure", "major", "emergency"] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];
export const CHANGE_TYPE_LABELS: Record<ChangeType, string> = {
  standard: "Standard",
  user_facing: "User-facing",
  infrastructure: "Infrastructure",
  major: "Major",
  emergency: "Emergency",
};

const uuid = (what: string) => z.string().uuid(`must be ${what} id`);
const changeType = z.enum(CHANGE_TYPES, { error: `must be one of ${CHANGE_TYPES.join(", ")}` });

export const createChangeInput = z.object({
  releaseId: uuid("a release"),
  environmentId: uuid("an environment"),
  type: changeType,
  title: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  description: z.string().trim().max(5000, "must be at most 5000 characters").default(""),
  performanceAssessment: z.string().trim().max(10_000, "must be at most 10000 characters").optional(),
});

export const updateChangeInput = z
  .object({
    id: uuid("a change request"),
    type: changeType.optional(),
    releaseId: uuid("a release").optional(),
    performanceAssessment: z.string().trim().max(10_000, "must be at most 10000 characters").optional(),
  })
  .refine((v) => v.type !== undefined || v.releaseId !== undefined || v.performanceAssessment !== undefined, {
    message: "nothing to change: give type, releaseId or performanceAssessment",
    path: ["id"],
  });

export const decideInput = z.object({
  id: uuid("a change request"),
  /** The required role the approval fills; when omitted, the first open role the approver holds. */
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` }).optional(),
  reason: z.string().trim().max(2000, "must be at most 2000 characters").optional(),
});

export const policyInput = z.object({
  type: changeType,
  requiredRoles: z
    .array(z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` }))
    .max(6, "must list at most 6 roles"),
  requiresPerformanceAssessment: z.boolean(),
  requiresWindow: z.boolean(),
});

type Db = PrismaClient | Prisma.TransactionClient;

export async function policyFor(db: Db, type: ChangeType) {
  const policy = await db.changeTypePolicy.findUnique({ where: { type } });
  if (!policy)
    throw preconditionFailed(`There is no approval policy for ${type} changes; an administrator must set one`, "type");
  return { ...policy, requiredRoles: policy.requiredRoles as Role[] };
}

export async function listPolicies(prisma: PrismaClient) {
  const rows = await prisma.changeTypePolicy.findMany();
  return CHANGE_TYPES.map((type) => rows.find((r) => r.type === type)).filter((r): r is NonNullable<typeof r> =>
    Boolean(r),
  );
}

export async function updatePolicyRow(prisma: PrismaClient, actor: Actor, input: z.infer<typeof policyInput>) {
  if (input.type === "emergency" && input.requiredRoles.length > 0)
    throw invalid(
      "requiredRoles",
      "Emergencies need no required roles: they are authorised by a CTO or on-call engineer, not by approvals",
    );
  if (new Set(input.requiredRoles).size !== input.requiredRoles.length)
    throw invalid("requiredRoles", "The required roles must not repeat a role");
  return prisma.$transaction(async (tx) => {
    const before = await tx.changeTypePolicy.findUnique({ where: { type: input.type } });
    const after = await tx.changeTypePolicy.upsert({ where: { type: input.type }, create: input, update: input });
    await recordAudit(tx, actor, {
      action: "approval_policy.changed",
      entityType: "ChangeTypePolicy",
      entityId: input.type,
      before,
      after: input,
    });
    return after;
  });
}

function records(
  approvals: { approverId: string; role: string; decision: string; revision: number; reason: string | null }[],
): ApprovalRecord[] {
  return approvals.map((a) => ({
    approverId: a.approverId,
    role: a.role as Role,
    decision: a.decision as "approved" | "rejected",
    revision: a.revision,
    reason: a.reason,
  }));
}

async function evaluate(
  db: Db,
  cr: ChangeRequest & {
    approvals: { approverId: string; role: string; decision: string; revision: number; reason: string | null }[];
  },
) {
  const policy = await policyFor(db, cr.type);
  return {
    policy,
    evaluation: evaluateApprovals({
      requiredRoles: policy.requiredRoles,
      requesterId: cr.requestedById,
      revision: cr.revision,
      approvals: records(cr.approvals),
    }),
  };
}

async function notifyApprovers(notifier: Notifier | null, db: Db, cr: ChangeRequest, roles: Role[], title: string) {
  if (!notifier || roles.length === 0) return async () => {};
  const recipients = (await notifier.usersWithRoles(roles, db)).filter((id) => id !== cr.requestedById);
  return notifier.record(
    recipients,
    {
      kind: "approval_requested",
      title,
      body: `${cr.title} — needs ${roles.map((r) => ROLE_LABELS[r]).join(" and ")}`,
      link: `/approvals?change=${cr.id}`,
      dedupeKey: `approval:${cr.id}:${cr.revision}`,
    },
    db,
  );
}

export async function createChangeRequest(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string },
  input: z.infer<typeof createChangeInput>,
) {
  if (input.type === "emergency")
    throw invalid(
      "type",
      "The change type cannot be emergency: emergencies are requested on the Maintenance page and authorised by a CTO or on-call engineer",
    );
  let deliver = async () => {};
  const cr = await prisma.$transaction(async (tx) => {
    const { environment, release } = await releaseInEnvironment(tx, input);
    if (!environment.production)
      throw invalid(
        "environmentId",
        `The environment ${environment.name} is not a production environment; change requests are for production deployments`,
      );
    const policy = await policyFor(tx, input.type);
    if (policy.requiresPerformanceAssessment && !input.performanceAssessment)
      throw invalid(
        "performanceAssessment",
        `A ${CHANGE_TYPE_LABELS[input.type].toLowerCase()} change needs a performance impact assessment`,
      );
    const open = await tx.changeRequest.findFirst({
      where: { releaseId: release.id, environmentId: environment.id, status: { in: ["pending", "approved"] } },
    });
    if (open)
      throw conflict(
        `Release ${release.version} already has an open change request for ${environment.name} ("${open.title}")`,
        "releaseId",
      );
    const created = await tx.changeRequest.create({
      data: {
        releaseId: release.id,
        environmentId: environment.id,
        type: input.type,
        title: input.title,
        description: input.description,
        performanceAssessment: input.performanceAssessment ?? null,
        requestedById: actor.userId,
        // A type that needs no approvals is approved as soon as it is requested.
        status: policy.requiredRoles.length === 0 ? "approved" : "pending",
      },
    });
    await recordAudit(tx, actor, {
      action: "change.requested",
      entityType: "ChangeRequest",
      entityId: created.id,
      serviceId: environment.serviceId,
      environmentId: environment.id,
      after: {
        release: release.version,
        environment: environment.name,
        type: input.type,
        title: input.title,
        requiredRoles: policy.requiredRoles,
      },
    });
    deliver = await notifyApprovers(
      notifier,
      tx,
      created,
      policy.requiredRoles,
      `Approval needed: ${environment.service.name} ${release.version} to ${environment.name}`,
    );
    return created;
  });
  await deliver().catch(() => {});
  return cr;
}

export async function updateChangeRequest(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string },
  input: z.infer<typeof updateChangeInput>,
) {
  let deliver = async () => {};
  const cr = await prisma.$transaction(async (tx) => {
    const before = await tx.changeRequest.findUnique({ where: { id: input.id }, include: { approvals: true } });
    if (!before) throw notFound(`Change request ${input.id}`);
    if (!["pending", "approved", "rejected"].includes(before.status))
      throw conflict(`The change request is ${before.status}; it can no longer change`);
    if (input.type === "emergency")
      throw invalid(
        "type",
        "The change type cannot be emergency: emergencies are requested on the Maintenance page and authorised by a CTO or on-call engineer",
      );
    if (input.releaseId) {
      const release = await tx.release.findUnique({ where: { id: input.releaseId } });
      if (!release) throw notFound(`Release ${input.releaseId}`);
      const environment = await tx.environment.findUniqueOrThrow({ where: { id: before.environmentId } });
      if (release.serviceId !== environment.serviceId)
        throw invalid("releaseId", `Release ${release.version} belongs to another service`);
    }
    const type = input.type ?? before.type;
    const policy = await policyFor(tx, type);
    const assessment = input.performanceAssessment ?? before.performanceAssessment;
    if (policy.requiresPerformanceAssessment && !assessment)
      throw invalid(
        "performanceAssessment",
        `A ${CHANGE_TYPE_LABELS[type].toLowerCase()} change needs a performance impact assessment`,
      );
    // A different release or type is a different change: earlier approvals lapse.
    const lapses =
      (input.releaseId !== undefined && input.releaseId !== before.releaseId) ||
      (input.type !== undefined && input.type !== before.type);
    const after = await tx.changeRequest.update({
      where: { id: before.id },
      data: {
        type,
        releaseId: input.releaseId ?? before.releaseId,
        performanceAssessment: assessment,
        ...(lapses
          ? {
              revision: { increment: 1 },
              status: policy.requiredRoles.length === 0 ? "approved" : "pending",
              rejectionReason: null,
            }
          : {}),
      },
    });
    await recordAudit(tx, actor, {
      action: lapses ? "change.revised" : "change.updated",
      entityType: "ChangeRequest",
      entityId: before.id,
      environmentId: before.environmentId,
      before: { type: before.type, releaseId: before.releaseId, revision: before.revision, status: before.status },
      after: {
        type: after.type,
        releaseId: after.releaseId,
        revision: after.revision,
        status: after.status,
        approvalsLapsed: lapses,
      },
    });
    if (lapses)
      deliver = await notifyApprovers(
        notifier,
        tx,
        after,
        policy.requiredRoles,
        `Approval needed again: ${after.title} changed`,
      );
    return after;
  });
  await deliver().catch(() => {});
  return cr;
}

export async function decideChangeRequest(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string; roles: Role[] },
  decision: "approved" | "rejected",
  input: z.infer<typeof decideInput>,
) {
  if (decision === "rejected" && !input.reason) throw invalid("reason", "Rejecting a change needs a reason");
  let deliver = async () => {};
  const refusal = await prisma.$transaction(async (tx) => {
    const cr = await tx.changeRequest.findUnique({ where: { id: input.id }, include: { approvals: true } });
    if (!cr) throw notFound(`Change request ${input.id}`);
    if (cr.requestedById === actor.userId) {
      // Separation of duties: an authorisation failure, recorded as one.
      await recordAudit(tx, actor, {
        action: "auth.forbidden",
        entityType: "ChangeRequest",
        entityId: cr.id,
        environmentId: cr.environmentId,
        after: { reason: "requester may not approve their own change", decision },
      });
      return forbidden("You requested this change; someone else must approve it");
    }
    if (cr.status === "used") throw conflict("The change has been deployed; approvals on it are closed");
    if (cr.status === "withdrawn") throw conflict("The change request was withdrawn");
    if (cr.status === "rejected") throw conflict("The change request was rejected; revise it to ask again");
    const { policy, evaluation } = await evaluate(tx, cr);
    if (cr.approvals.some((a) => a.revision === cr.revision && a.approverId === actor.userId))
      throw conflict("You have already decided on this revision of the change");
    const open = rolesOpenTo(
      {
        requiredRoles: policy.requiredRoles,
        requesterId: cr.requestedById,
        revision: cr.revision,
        approvals: records(cr.approvals),
      },
      actor.userId,
      actor.roles,
    );
    const role =
      input.role ??
      open[0] ??
      (decision === "rejected" ? policy.requiredRoles.find((r) => actor.roles.includes(r)) : undefined);
    if (!role || !policy.requiredRoles.includes(role) || !actor.roles.includes(role)) {
      await recordAudit(tx, actor, {
        action: "auth.forbidden",
        entityType: "ChangeRequest",
        entityId: cr.id,
        environmentId: cr.environmentId,
        after: { reason: "no required role the caller holds", decision },
      });
      return forbidden(
        evaluation.missing.length === 0 && decision === "approved"
          ? "Every required approval is already given"
          : `This change needs ${policy.requiredRoles.map((r) => ROLE_LABELS[r]).join(", ")}; you hold none of the roles still open`,
      );
    }
    if (decision === "approved" && !open.includes(role))
      throw conflict(`The ${ROLE_LABELS[role]} approval is already given`, "role");
    await tx.approval.create({
      data: {
        changeRequestId: cr.id,
        approverId: actor.userId,
        role,
        decision,
        reason: input.reason ?? null,
        revision: cr.revision,
      },
    });
    const after = await evaluate(tx, {
      ...cr,
      approvals: [
        ...cr.approvals,
        { approverId: actor.userId, role, decision, revision: cr.revision, reason: input.reason ?? null },
      ],
    });
    const status = after.evaluation.status;
    await tx.changeRequest.update({
      where: { id: cr.id },
      data: { status, rejectionReason: decision === "rejected" ? input.reason : cr.rejectionReason },
    });
    await recordAudit(tx, actor, {
      action: decision === "approved" ? "change.approved" : "change.rejected",
      entityType: "ChangeRequest",
      entityId: cr.id,
      environmentId: cr.environmentId,
      before: { status: cr.status },
      after: { status, role, revision: cr.revision, reason: input.reason ?? null, missing: after.evaluation.missing },
    });
    if (notifier) {
      deliver = await notifier.record(
        [cr.requestedById],
        {
          kind: `change_${decision}`,
          title:
            decision === "approved"
              ? status === "approved"
                ? `Approved: ${cr.title}`
                : `${ROLE_LABELS[role]} approved: ${cr.title}`
              : `Rejected: ${cr.title}`,
          body:
            decision === "rejected"
              ? `Reason: ${input.reason}`
              : status === "approved"
                ? "Every required approval is in; the deployment may start."
                : `Still needed: ${after.evaluation.missing.map((r) => ROLE_LABELS[r]).join(", ")}`,
          link: `/approvals?change=${cr.id}`,
          dedupeKey: `decision:${cr.id}:${cr.revision}:${actor.userId}`,
        },
        tx,
      );
    }
    return null;
  });
  if (refusal) throw refusal;
  await deliver().catch(() => {});
  return changeRequestDetail(prisma, input.id);
}

export async function withdrawChangeRequest(prisma: PrismaClient, actor: Actor & { userId: string }, id: string) {
  return prisma.$transaction(async (tx) => {
    const cr = await tx.changeRequest.findUnique({ where: { id } });
    if (!cr) throw notFound(`Change request ${id}`);
    if (!["pending", "approved", "rejected"].includes(cr.status))
      throw conflict(`The change request is ${cr.status}; it cannot be withdrawn`);
    await tx.changeRequest.update({ where: { id }, data: { status: "withdrawn" } });
    await recordAudit(tx, actor, {
      action: "change.withdrawn",
      entityType: "ChangeRequest",
      entityId: id,
      environmentId: cr.environmentId,
      before: { status: cr.status },
      after: { status: "withdrawn" },
    });
  });
}

export async function changeRequestDetail(prisma: PrismaClient, id: string, viewer?: { id: string; roles: Role[] }) {
  const cr = await prisma.changeRequest.findUnique({
    where: { id },
    include: {
      requestedBy: { select: { id: true, name: true, email: true } },
      approvals: {
        include: { approver: { select: { id: true, name: true, email: true } } },
        orderBy: { createdAt: "asc" },
      },
    },
  });
  if (!cr) throw notFound(`Change request ${id}`);
  const [release, environment] = await Promise.all([
    prisma.release.findUniqueOrThrow({ where: { id: cr.releaseId } }),
    prisma.environment.findUniqueOrThrow({ where: { id: cr.environmentId }, include: { service: true } }),
  ]);
  const { policy, evaluation } = await evaluate(prisma, cr);
  return {
    ...cr,
    release: { id: release.id, version: release.version },
    environment: {
      id: environment.id,
      name: environment.name,
      serviceId: environment.serviceId,
      serviceName: environment.service.name,
    },
    policy,
    evaluation,
    openToViewer: viewer
      ? rolesOpenTo(
          {
            requiredRoles: policy.requiredRoles,
            requesterId: cr.requestedById,
            revision: cr.revision,
            approvals: records(cr.approvals),
          },
          viewer.id,
          viewer.roles,
        )
      : [],
  };
}

export const listChangesInput = z.object({
  status: z
    .enum(["pending", "approved", "rejected", "withdrawn", "used"], { error: "must be a change request status" })
    .optional(),
  environmentId: uuid("an environment").optional(),
  releaseId: uuid("a release").optional(),
  limit: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").default(100),
});

export async function listChangeRequests(prisma: PrismaClient, input: z.infer<typeof listChangesInput>) {
  const rows = await prisma.changeRequest.findMany({
    where: {
      ...(input.status ? { status: input.status } : {}),
      ...(input.environmentId ? { environmentId: input.environmentId } : {}),
      ...(input.releaseId ? { releaseId: input.releaseId } : {}),
    },
    orderBy: { createdAt: "desc" },
    take: input.limit,
  });
  return Promise.all(rows.map((r) => changeRequestDetail(prisma, r.id)));
}

/** What waits for this person: open requests where they could fill a required role. */
export async function inbox(prisma: PrismaClient, user: { id: string; roles: Role[] }) {
  const open = await prisma.changeRequest.findMany({
    where: { status: "pending", requestedById: { not: user.id } },
    orderBy: { createdAt: "asc" },
  });
  const details = await Promise.all(open.map((r) => changeRequestDetail(prisma, r.id, user)));
  return details.filter((d) => d.openToViewer.length > 0);
}
