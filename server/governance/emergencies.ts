/**
 * Emergency maintenance. Anyone may request one (reason, impact, planned actions); only a CTO or
 * on-call engineer who is not the requester may authorise it. An authorised emergency lets
 * deployments in its scope bypass maintenance windows, approvals and the promotion order for a few
 * hours; everyone concerned is told at once; a post-incident review is opened, due within 24 hours,
 * with its timeline taken from the audit log.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Role } from "../auth/roles.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { conflict, forbidden, invalid, notFound, preconditionFailed } from "../errors.ts";
import type { Notice, Notifier } from "./notifications.ts";

/** An authorisation lets deployments bypass the usual gates for this long. */
export const EMERGENCY_VALIDITY_HOURS = 4;
export const REVIEW_DUE_HOURS = 24;
export const AUTHORISERS: readonly Role[] = ["cto", "oncall"];
/** Who hears about an authorised emergency, besides the subscribers to incidents. */
export const STAKEHOLDER_ROLES: readonly Role[] = [
  "release_manager",
  "approver",
  "business_stakeholder",
  "security_reviewer",
  "cto",
  "oncall",
  "admin",
];

const text = (max: number) =>
  z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
const uuid = (what: string) => z.string().uuid(`must be ${what} id`);

export const requestEmergencyInput = z.object({
  reason: text(2000),
  impact: text(2000),
  plannedActions: text(5000),
  serviceId: uuid("a service").optional(),
  environmentId: uuid("an environment").optional(),
});

export const decideEmergencyInput = z.object({
  id: uuid("an emergency"),
  note: z.string().trim().max(2000, "must be at most 2000 characters").optional(),
});

export const updateReviewInput = z.object({
  id: uuid("a review"),
  rootCause: z.string().trim().max(10_000, "must be at most 10000 characters").optional(),
  followUps: z
    .array(
      z.object({
        action: text(500),
        owner: z.string().trim().max(200, "must be at most 200 characters").default(""),
        due: z.string().trim().max(40, "must be at most 40 characters").default(""),
      }),
    )
    .max(50, "must have at most 50 actions")
    .optional(),
  ownerId: uuid("a user").optional(),
});

type Db = PrismaClient | Prisma.TransactionClient;

/** The authorised, unexpired emergency covering an environment (by its id or its service), if any. */
export async function activeEmergencyFor(db: Db, environment: { id: string; serviceId: string }, now = new Date()) {
  return db.emergencyRequest.findFirst({
    where: {
      status: "authorized",
      expiresAt: { gt: now },
      OR: [
        { environmentId: environment.id },
        { environmentId: null, serviceId: environment.serviceId },
        { environmentId: null, serviceId: null },
      ],
    },
    orderBy: { decidedAt: "desc" },
  });
}

export async function requestEmergency(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string },
  input: z.infer<typeof requestEmergencyInput>,
) {
  let deliver = async () => {};
  const emergency = await prisma.$transaction(async (tx) => {
    let serviceId = input.serviceId ?? null;
    if (input.environmentId) {
      const environment = await tx.environment.findUnique({ where: { id: input.environmentId } });
      if (!environment) throw notFound(`Environment ${input.environmentId}`);
      if (serviceId && environment.serviceId !== serviceId)
        throw invalid("environmentId", "The environment belongs to another service");
      serviceId = environment.serviceId;
    } else if (serviceId && !(await tx.service.findUnique({ where: { id: serviceId } }))) {
      throw notFound(`Service ${serviceId}`);
    }
    const created = await tx.emergencyRequest.create({
      data: {
        requestedById: actor.userId,
        serviceId,
        environmentId: input.environmentId ?? null,
        reason: input.reason,
        impact: input.impact,
        plannedActions: input.plannedActions,
      },
    });
    await recordAudit(tx, actor, {
      action: "emergency.requested",
      entityType: "EmergencyRequest",
      entityId: created.id,
      serviceId,
      environmentId: created.environmentId,
      after: { reason: input.reason, impact: input.impact },
    });
    if (notifier) {
      const authorisers = (await notifier.usersWithRoles(AUTHORISERS, tx)).filter((id) => id !== actor.userId);
      deliver = await notifier.record(
        authorisers,
        {
          kind: "emergency_requested",
          title: "Emergency maintenance requested",
          body: `${actor.email}: ${input.reason}`,
          link: `/maintenance?emergency=${created.id}`,
          dedupeKey: `emergency:${created.id}:requested`,
          external: true,
        },
        tx,
      );
    }
    return created;
  });
  await deliver().catch(() => {});
  return emergency;
}

/** Audit events from the emergency's request onwards that concern it or its scope: the review's timeline. */
export async function incidentTimeline(
  db: Db,
  emergency: { id: string; createdAt: Date; serviceId: string | null; environmentId: string | null },
  until?: Date,
) {
  const deployments = await db.deployment.findMany({ where: { emergencyId: emergency.id }, select: { id: true } });
  const review = await db.postIncidentReview.findUnique({ where: { emergencyId: emergency.id }, select: { id: true } });
  const events = await db.auditEvent.findMany({
    where: {
      at: { gte: new Date(emergency.createdAt.getTime() - 60 * 60_000), lte: until ?? new Date() },
      OR: [
        { entityId: emergency.id },
        ...(review ? [{ entityId: review.id }] : []),
        { entityId: { in: deployments.map((d) => d.id) } },
        ...(emergency.environmentId
          ? [{ environmentId: emergency.environmentId }]
          : emergency.serviceId
            ? [{ serviceId: emergency.serviceId }]
            : []),
        { action: { startsWith: "alert." } },
      ],
    },
    orderBy: { seq: "asc" },
    take: 500,
  });
  return events.map((e) => ({
    seq: Number(e.seq),
    at: e.at.toISOString(),
    actor: e.actorEmail,
    action: e.action,
    entityType: e.entityType,
    entityId: e.entityId,
  }));
}

export async function decideEmergency(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string; roles: Role[] },
  decision: "authorized" | "rejected",
  input: z.infer<typeof decideEmergencyInput>,
  now = new Date(),
) {
  if (decision === "rejected" && !input.note)
    throw invalid("note", "Rejecting an emergency needs a reason in the note");
  let deliver = async () => {};
  const refusal = await prisma.$transaction(async (tx) => {
    const emergency = await tx.emergencyRequest.findUnique({ where: { id: input.id } });
    if (!emergency) throw notFound(`Emergency ${input.id}`);
    if (emergency.requestedById === actor.userId) {
      await recordAudit(tx, actor, {
        action: "auth.forbidden",
        entityType: "EmergencyRequest",
        entityId: emergency.id,
        after: { reason: "requester may not authorise their own emergency", decision },
      });
      return forbidden("You requested this emergency; another CTO or on-call engineer must authorise it");
    }
    if (emergency.status !== "requested") throw conflict(`The emergency is already ${emergency.status}`);
    const expiresAt = new Date(now.getTime() + EMERGENCY_VALIDITY_HOURS * 3600_000);
    await tx.emergencyRequest.update({
      where: { id: emergency.id },
      data: {
        status: decision,
        decidedById: actor.userId,
        decidedAt: now,
        decisionNote: input.note ?? null,
        expiresAt: decision === "authorized" ? expiresAt : null,
      },
    });
    await recordAudit(tx, actor, {
      action: decision === "authorized" ? "emergency.authorized" : "emergency.rejected",
      entityType: "EmergencyRequest",
      entityId: emergency.id,
      serviceId: emergency.serviceId,
      environmentId: emergency.environmentId,
      before: { status: emergency.status },
      after: { status: decision, note: input.note ?? null, expiresAt: decision === "authorized" ? expiresAt : null },
    });
    if (decision === "authorized") {
      const dueAt = new Date(now.getTime() + REVIEW_DUE_HOURS * 3600_000);
      const review = await tx.postIncidentReview.create({
        data: {
          emergencyId: emergency.id,
          ownerId: emergency.requestedById,
          dueAt,
          timeline: await incidentTimeline(tx, emergency),
        },
      });
      await recordAudit(tx, actor, {
        action: "review.opened",
        entityType: "PostIncidentReview",
        entityId: review.id,
        serviceId: emergency.serviceId,
        after: { emergencyId: emergency.id, dueAt, ownerId: review.ownerId },
      });
      // The overdue reminder is scheduled now, so it fires even if nobody looks at the review.
      await tx.scheduledNotice.create({
        data: { key: `review_overdue:${review.id}`, kind: "review_overdue", dueAt, payload: { reviewId: review.id } },
      });
      if (notifier) {
        // The requester is told whatever their role, and separately that the review is theirs.
        const everyone = [
          emergency.requestedById,
          ...(await notifier.usersWithRoles(STAKEHOLDER_ROLES, tx)),
          ...(await notifier.subscribers("incidents", tx)),
        ];
        deliver = await notifier.record(
          everyone,
          {
            kind: "emergency_authorized",
            title: "Emergency maintenance authorised",
            body: `${actor.email} authorised: ${emergency.reason}. Impact: ${emergency.impact}. Valid until ${expiresAt.toISOString()}; post-incident review due ${dueAt.toISOString()}.`,
            link: `/maintenance?emergency=${emergency.id}`,
            dedupeKey: `emergency:${emergency.id}:authorized`,
            external: true,
          },
          tx,
        );
        const toOwner = await notifier.record([review.ownerId], reviewOwnerNotice(review, emergency.reason), tx);
        const toEveryone = deliver;
        deliver = async () => {
          await toEveryone();
          await toOwner();
        };
      }
    } else if (notifier) {
      deliver = await notifier.record(
        [emergency.requestedById],
        {
          kind: "emergency_rejected",
          title: "Emergency maintenance not authorised",
          body: `${actor.email} did not authorise "${emergency.reason}": ${input.note ?? ""}`,
          link: `/maintenance?emergency=${emergency.id}`,
          dedupeKey: `emergency:${emergency.id}:rejected`,
          external: true,
        },
        tx,
      );
    }
    return null;
  });
  if (refusal) throw refusal;
  await deliver().catch(() => {});
  return prisma.emergencyRequest.findUniqueOrThrow({ where: { id: input.id }, include: { review: true } });
}

/** Tells a review's owner it is theirs, and when it is due (once per owner). */
function reviewOwnerNotice(review: { id: string; ownerId: string; dueAt: Date }, reason: string): Notice {
  return {
    kind: "review_assigned",
    title: "You own a post-incident review",
    body: `You own the post-incident review of "${reason}". It is due ${review.dueAt.toISOString()}: record the root cause and the follow-up actions, then a CTO or on-call engineer signs it off.`,
    link: `/maintenance?review=${review.id}`,
    dedupeKey: `review:${review.id}:owner:${review.ownerId}`,
    external: true,
  };
}

export async function closeEmergency(prisma: PrismaClient, actor: Actor, id: string) {
  return prisma.$transaction(async (tx) => {
    const emergency = await tx.emergencyRequest.findUnique({ where: { id } });
    if (!emergency) throw notFound(`Emergency ${id}`);
    if (!["requested", "authorized"].includes(emergency.status))
      throw conflict(`The emergency is already ${emergency.status}`);
    await tx.emergencyRequest.update({
      where: { id },
      data: { status: "closed", expiresAt: emergency.status === "authorized" ? new Date() : emergency.expiresAt },
    });
    await recordAudit(tx, actor, {
      action: "emergency.closed",
      entityType: "EmergencyRequest",
      entityId: id,
      before: { status: emergency.status },
      after: { status: "closed" },
    });
  });
}

export async function updateReview(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string; roles: Role[] },
  input: z.infer<typeof updateReviewInput>,
) {
  let deliver = async () => {};
  const updated = await prisma.$transaction(async (tx) => {
    const review = await tx.postIncidentReview.findUnique({ where: { id: input.id }, include: { emergency: true } });
    if (!review) throw notFound(`Review ${input.id}`);
    if (review.status === "signed_off") throw conflict("The review is signed off; it can no longer change");
    if (input.ownerId && !(await tx.user.findUnique({ where: { id: input.ownerId } })))
      throw notFound(`User ${input.ownerId}`);
    const after = await tx.postIncidentReview.update({
      where: { id: review.id },
      data: { rootCause: input.rootCause, followUps: input.followUps, ownerId: input.ownerId },
    });
    await recordAudit(tx, actor, {
      action: "review.updated",
      entityType: "PostIncidentReview",
      entityId: review.id,
      before: { rootCause: review.rootCause, followUps: review.followUps, ownerId: review.ownerId },
      after: { rootCause: after.rootCause, followUps: after.followUps, ownerId: after.ownerId },
    });
    if (notifier && after.ownerId !== review.ownerId)
      deliver = await notifier.record([after.ownerId], reviewOwnerNotice(after, review.emergency.reason), tx);
    return after;
  });
  await deliver().catch(() => {});
  return updated;
}

export async function signOffReview(
  prisma: PrismaClient,
  actor: Actor & { userId: string },
  id: string,
  now = new Date(),
) {
  return prisma.$transaction(async (tx) => {
    const review = await tx.postIncidentReview.findUnique({ where: { id }, include: { emergency: true } });
    if (!review) throw notFound(`Review ${id}`);
    if (review.status === "signed_off") throw conflict("The review is already signed off");
    if (!review.rootCause.trim())
      throw preconditionFailed("A review needs its root cause before sign-off", "rootCause");
    if (!Array.isArray(review.followUps) || review.followUps.length === 0)
      throw preconditionFailed("A review needs at least one follow-up action before sign-off", "followUps");
    if (review.emergency.status === "authorized") {
      await tx.emergencyRequest.update({
        where: { id: review.emergencyId },
        data: { status: "closed", expiresAt: now },
      });
      await recordAudit(tx, actor, {
        action: "emergency.closed",
        entityType: "EmergencyRequest",
        entityId: review.emergencyId,
        before: { status: "authorized" },
        after: { status: "closed", by: "review sign-off" },
      });
    }
    await recordAudit(tx, actor, {
      action: "review.signed_off",
      entityType: "PostIncidentReview",
      entityId: id,
      after: {
        emergencyId: review.emergencyId,
        lateBy: now > review.dueAt ? Math.round((now.getTime() - review.dueAt.getTime()) / 60_000) : 0,
      },
    });
    // The timeline is frozen at sign-off, sign-off included.
    const timeline = await incidentTimeline(tx, review.emergency);
    const after = await tx.postIncidentReview.update({
      where: { id },
      data: { status: "signed_off", signedOffById: actor.userId, signedOffAt: now, timeline },
    });
    return after;
  });
}

export async function listEmergencies(prisma: PrismaClient) {
  const rows = await prisma.emergencyRequest.findMany({
    orderBy: { createdAt: "desc" },
    take: 100,
    include: { review: true },
  });
  const users = await prisma.user.findMany({
    where: {
      id: {
        in: rows
          .flatMap((r) => [r.requestedById, r.decidedById, r.review?.ownerId, r.review?.signedOffById])
          .filter((x): x is string => Boolean(x)),
      },
    },
    select: { id: true, name: true, email: true },
  });
  const who = (id: string | null | undefined) => users.find((u) => u.id === id) ?? null;
  const [services, environments] = await Promise.all([
    prisma.service.findMany({
      where: { id: { in: rows.map((r) => r.serviceId).filter((x): x is string => Boolean(x)) } },
      select: { id: true, name: true },
    }),
    prisma.environment.findMany({
      where: { id: { in: rows.map((r) => r.environmentId).filter((x): x is string => Boolean(x)) } },
      select: { id: true, name: true },
    }),
  ]);
  const now = new Date();
  return Promise.all(
    rows.map(async (r) => ({
      ...r,
      serviceName: services.find((s) => s.id === r.serviceId)?.name ?? null,
      environmentName: environments.find((e) => e.id === r.environmentId)?.name ?? null,
      requestedBy: who(r.requestedById),
      decidedBy: who(r.decidedById),
      active: r.status === "authorized" && r.expiresAt !== null && r.expiresAt > now,
      review: r.review
        ? {
            ...r.review,
            // An open review's timeline is read live from the audit log; a signed-off one is frozen.
            timeline: r.review.status === "open" ? await incidentTimeline(prisma, r) : r.review.timeline,
            owner: who(r.review.ownerId),
            signedOffBy: who(r.review.signedOffById),
            overdue: r.review.status === "open" && r.review.dueAt < now,
          }
        : null,
    })),
  );
}

export async function overdueReviews(prisma: PrismaClient, now = new Date()) {
  return prisma.postIncidentReview.findMany({
    where: { status: "open", dueAt: { lt: now } },
    include: { emergency: true },
    orderBy: { dueAt: "asc" },
  });
}
