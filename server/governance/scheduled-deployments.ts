/**
 * Scheduling a change into a maintenance window. A production change whose type needs a window
 * (major, infrastructure by default), once approved, can be scheduled for the next window or a
 * chosen one. When the window opens the panel starts the deployment itself, through the same start
 * path and guards as a person, evaluated at that moment; if the approvals, the checklist or the
 * window no longer hold it does not start, and the requester is told why.
 *
 * Exactly once, across restarts and instances: the row is claimed inside the start's own
 * transaction (`scheduled` → `started`, conditional on the status), so of two workers only one
 * transaction commits a deployment; a refusal is recorded with the same condition, so only one
 * worker tells the requester.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { conflict, DomainError, invalid, notFound, preconditionFailed } from "../errors.ts";
import type { StartContext, StartGuard } from "../releases/commands.ts";
import { CHANGE_TYPE_LABELS, policyFor } from "./change-requests.ts";
import type { Notifier } from "./notifications.ts";
import { describeWindow, nextWindows, stepCutoff } from "./windows.ts";

const uuid = (what: string) => z.string().uuid(`must be ${what} id`);

export const scheduleInput = z.object({
  changeRequestId: uuid("a change request"),
  /** The start of the chosen window (one of the upcoming ones); the next window when omitted. */
  windowStart: z.string().datetime({ message: "must be a window's start time (ISO 8601)", offset: true }).optional(),
});
export const cancelScheduleInput = z.object({
  id: uuid("a scheduled deployment"),
  reason: z.string().trim().max(500, "must be at most 500 characters").optional(),
});

/** How many upcoming windows a change may be scheduled into. */
export const SCHEDULABLE_WINDOWS = 12;

/** Thrown inside a start transaction when another worker already took the row: nothing to report. */
export class ClaimLost extends Error {}

export async function scheduleDeployment(
  prisma: PrismaClient,
  actor: Actor & { userId: string },
  input: z.infer<typeof scheduleInput>,
  now = new Date(),
) {
  return prisma.$transaction(async (tx) => {
    const cr = await tx.changeRequest.findUnique({ where: { id: input.changeRequestId } });
    if (!cr) throw notFound(`Change request ${input.changeRequestId}`);
    const environment = await tx.environment.findUnique({ where: { id: cr.environmentId } });
    if (!environment) throw notFound(`Environment ${cr.environmentId}`);
    const policy = await policyFor(tx, cr.type);
    if (!policy.requiresWindow)
      throw preconditionFailed(
        `${CHANGE_TYPE_LABELS[cr.type]} changes do not wait for a maintenance window; start the deployment instead`,
        "changeRequestId",
      );
    if (cr.status !== "approved")
      throw preconditionFailed(
        `The change request "${cr.title}" is ${cr.status}; only an approved change can be scheduled`,
        "changeRequestId",
      );
    const existing = await tx.scheduledDeployment.findFirst({ where: { changeRequestId: cr.id, status: "scheduled" } });
    if (existing)
      throw conflict(
        `The change request "${cr.title}" is already scheduled for ${existing.windowName} at ${existing.windowStart.toISOString()}; cancel that first`,
        "changeRequestId",
      );

    const rules = await tx.maintenanceWindowRule.findMany({ where: { active: true } });
    // A window already open counts only while a deployment may still start in it.
    const upcoming = nextWindows(rules, environment.serviceId, now, SCHEDULABLE_WINDOWS).filter(
      (w) => stepCutoff(w) > now,
    );
    if (upcoming.length === 0)
      throw preconditionFailed(
        "No maintenance window is scheduled; an administrator can add one on the Maintenance page",
        "windowStart",
      );
    const window = input.windowStart
      ? upcoming.find((w) => w.start.getTime() === new Date(input.windowStart!).getTime())
      : upcoming[0];
    if (!window)
      throw invalid("windowStart", "The window start is not the start of one of the upcoming maintenance windows");

    const created = await tx.scheduledDeployment.create({
      data: {
        changeRequestId: cr.id,
        releaseId: cr.releaseId,
        environmentId: cr.environmentId,
        windowRuleId: window.ruleId,
        windowName: window.name,
        windowStart: window.start,
        windowEnd: window.end,
        scheduledById: actor.userId,
      },
    });
    await recordAudit(tx, actor, {
      action: "deployment.scheduled",
      entityType: "ScheduledDeployment",
      entityId: created.id,
      serviceId: environment.serviceId,
      environmentId: environment.id,
      after: {
        changeRequestId: cr.id,
        releaseId: cr.releaseId,
        window: window.name,
        windowStart: window.start,
        windowEnd: window.end,
      },
    });
    return created;
  });
}

export async function cancelScheduledDeployment(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof cancelScheduleInput>,
  now = new Date(),
) {
  return prisma.$transaction(async (tx) => {
    const row = await tx.scheduledDeployment.findUnique({ where: { id: input.id } });
    if (!row) throw notFound(`Scheduled deployment ${input.id}`);
    const { count } = await tx.scheduledDeployment.updateMany({
      where: { id: row.id, status: "scheduled" },
      data: { status: "cancelled", reason: input.reason ?? `cancelled by ${actor.email ?? "someone"}`, settledAt: now },
    });
    if (count === 0) throw conflict(`The scheduled deployment is already ${row.status.replace(/_/g, " ")}`, "id");
    await recordAudit(tx, actor, {
      action: "deployment.schedule_cancelled",
      entityType: "ScheduledDeployment",
      entityId: row.id,
      environmentId: row.environmentId,
      before: { status: row.status },
      after: { status: "cancelled", reason: input.reason ?? null },
    });
    return tx.scheduledDeployment.findUniqueOrThrow({ where: { id: row.id } });
  });
}

/** Rows whose window has opened and that nobody has started or settled yet. */
export async function dueSchedules(prisma: PrismaClient, now: Date) {
  return prisma.scheduledDeployment.findMany({
    where: { status: "scheduled", windowStart: { lte: now } },
    orderBy: { windowStart: "asc" },
    take: 20,
  });
}

/**
 * The start guard a scheduled start runs first, inside the start's transaction: it claims the row
 * (the conditional update waits on a concurrent claim and then finds the status changed), and checks
 * the chosen window is the one open now. The deployment id is recorded once the deployment exists.
 */
export function claimScheduleGuard(
  schedule: { id: string; windowStart: Date; windowEnd: Date; windowName: string },
  now: Date,
): StartGuard {
  return async (tx: Prisma.TransactionClient, context: StartContext) => {
    const { count } = await tx.scheduledDeployment.updateMany({
      where: { id: schedule.id, status: "scheduled" },
      data: { status: "started", settledAt: now },
    });
    if (count === 0) throw new ClaimLost(schedule.id);
    if (now < schedule.windowStart || now >= schedule.windowEnd) {
      throw preconditionFailed(
        `The maintenance window "${schedule.windowName}" (${describeWindow({ start: schedule.windowStart, end: schedule.windowEnd }, context.timeZone)}) is not open`,
        "window",
      );
    }
    return {
      async afterCreate(tx2, deploymentId) {
        await tx2.scheduledDeployment.update({ where: { id: schedule.id }, data: { deploymentId } });
        await recordAudit(tx2, context.actor, {
          action: "deployment.schedule_started",
          entityType: "ScheduledDeployment",
          entityId: schedule.id,
          environmentId: context.environment.id,
          after: { deploymentId },
        });
      },
    };
  };
}

/**
 * A scheduled start that was refused: recorded once (conditional on the status) with the reason,
 * audited, and the requester and whoever scheduled it told, all in one transaction.
 */
export async function settleNotStarted(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor,
  scheduleId: string,
  refusal: DomainError,
  now: Date,
) {
  let deliver = async () => {};
  const settled = await prisma.$transaction(async (tx) => {
    const row = await tx.scheduledDeployment.findUnique({ where: { id: scheduleId } });
    if (!row) return false;
    const { count } = await tx.scheduledDeployment.updateMany({
      where: { id: row.id, status: "scheduled" },
      data: { status: "not_started", reason: refusal.message, settledAt: now },
    });
    if (count === 0) return false;
    await recordAudit(tx, actor, {
      action: "deployment.schedule_not_started",
      entityType: "ScheduledDeployment",
      entityId: row.id,
      environmentId: row.environmentId,
      before: { status: "scheduled" },
      after: { status: "not_started", reason: refusal.message },
    });
    const cr = await tx.changeRequest.findUnique({ where: { id: row.changeRequestId } });
    const release = await tx.release.findUnique({ where: { id: row.releaseId } });
    if (notifier) {
      deliver = await notifier.record(
        [row.scheduledById, ...(cr ? [cr.requestedById] : [])],
        {
          kind: "scheduled_deployment_not_started",
          title: `Scheduled deployment of ${release?.version ?? "a release"} did not start`,
          body: `"${cr?.title ?? "The change"}" was scheduled for the maintenance window "${row.windowName}", but it did not start: ${refusal.message}`,
          link: cr ? `/approvals?change=${cr.id}` : "/maintenance",
          dedupeKey: `scheduled:${row.id}:not_started`,
          external: true,
        },
        tx,
      );
    }
    return true;
  });
  await deliver().catch(() => {});
  return settled;
}

/** Scheduled deployments to show: those still waiting, and the last settled ones. */
export async function listScheduledDeployments(prisma: PrismaClient, filter: { changeRequestId?: string } = {}) {
  const rows = await prisma.scheduledDeployment.findMany({
    where: filter.changeRequestId ? { changeRequestId: filter.changeRequestId } : {},
    orderBy: [{ createdAt: "desc" }],
    take: 50,
  });
  const [changes, releases, environments, users] = await Promise.all([
    prisma.changeRequest.findMany({
      where: { id: { in: rows.map((r) => r.changeRequestId) } },
      select: { id: true, title: true, type: true },
    }),
    prisma.release.findMany({
      where: { id: { in: rows.map((r) => r.releaseId) } },
      select: { id: true, version: true, service: { select: { name: true } } },
    }),
    prisma.environment.findMany({
      where: { id: { in: rows.map((r) => r.environmentId) } },
      select: { id: true, name: true },
    }),
    prisma.user.findMany({
      where: { id: { in: rows.map((r) => r.scheduledById) } },
      select: { id: true, name: true, email: true },
    }),
  ]);
  return rows.map((r) => {
    const release = releases.find((x) => x.id === r.releaseId);
    return {
      ...r,
      change: changes.find((x) => x.id === r.changeRequestId) ?? null,
      version: release?.version ?? null,
      serviceName: release?.service.name ?? null,
      environmentName: environments.find((x) => x.id === r.environmentId)?.name ?? null,
      scheduledBy: users.find((x) => x.id === r.scheduledById) ?? null,
    };
  });
}

export function isRefusal(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
