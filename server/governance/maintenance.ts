/**
 * Maintenance window rules (administrators keep them; overlapping rules, windows over two hours and
 * unknown time zones are refused), the upcoming windows people see, and subscriptions to notices.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import { conflict, notFound } from "../errors.ts";
import { describeWindow, findOverlap, nextWindows, stepCutoff, windowAt, windowRuleInput } from "./windows.ts";

export const TOPICS = ["maintenance", "incidents"] as const;
export const updateRuleInput = z.object({
  id: z.string().uuid("must be a window rule id"),
  rule: windowRuleInput,
  active: z.boolean().default(true),
});
export const subscriptionInput = z.object({
  topic: z.enum(TOPICS, { error: `must be one of ${TOPICS.join(", ")}` }),
  subscribed: z.boolean(),
});

async function assertNoOverlap(
  prisma: PrismaClient,
  candidate: z.infer<typeof windowRuleInput> & { id: string; active: boolean },
) {
  if (!candidate.active) return;
  const existing = await prisma.maintenanceWindowRule.findMany({ where: { active: true, id: { not: candidate.id } } });
  const overlap = findOverlap(candidate, existing);
  if (overlap)
    throw conflict(
      `The recurrence rule overlaps the window "${overlap.other.name}" on ${describeWindow(overlap.at, candidate.timezone)}`,
      "rrule",
    );
}

export async function createRule(prisma: PrismaClient, actor: Actor, input: z.infer<typeof windowRuleInput>) {
  if (input.serviceId && !(await prisma.service.findUnique({ where: { id: input.serviceId } })))
    throw notFound(`Service ${input.serviceId}`);
  await assertNoOverlap(prisma, { ...input, id: "new", active: true });
  return prisma.$transaction(async (tx) => {
    const rule = await tx.maintenanceWindowRule.create({ data: input });
    await recordAudit(tx, actor, {
      action: "window.created",
      entityType: "MaintenanceWindowRule",
      entityId: rule.id,
      serviceId: rule.serviceId,
      after: input,
    });
    return rule;
  });
}

export async function updateRule(prisma: PrismaClient, actor: Actor, input: z.infer<typeof updateRuleInput>) {
  await assertNoOverlap(prisma, { ...input.rule, id: input.id, active: input.active });
  return prisma.$transaction(async (tx) => {
    const before = await tx.maintenanceWindowRule.findUnique({ where: { id: input.id } });
    if (!before) throw notFound(`Window rule ${input.id}`);
    const after = await tx.maintenanceWindowRule.update({
      where: { id: input.id },
      data: { ...input.rule, active: input.active },
    });
    await recordAudit(tx, actor, {
      action: "window.changed",
      entityType: "MaintenanceWindowRule",
      entityId: input.id,
      serviceId: after.serviceId,
      before,
      after: { ...input.rule, active: input.active },
    });
    return after;
  });
}

export async function deleteRule(prisma: PrismaClient, actor: Actor, id: string) {
  return prisma.$transaction(async (tx) => {
    const before = await tx.maintenanceWindowRule.findUnique({ where: { id } });
    if (!before) throw notFound(`Window rule ${id}`);
    await tx.maintenanceWindowRule.delete({ where: { id } });
    await tx.scheduledNotice.deleteMany({ where: { sentAt: null, key: { startsWith: `window:${id}:` } } });
    await recordAudit(tx, actor, {
      action: "window.deleted",
      entityType: "MaintenanceWindowRule",
      entityId: id,
      serviceId: before.serviceId,
      before,
    });
  });
}

/** The windows ahead (and the one open now, with its rollback deadline) for a service or for all. */
export async function upcomingWindows(
  prisma: PrismaClient,
  input: { serviceId?: string | null; count: number },
  now = new Date(),
) {
  const rules = await prisma.maintenanceWindowRule.findMany({ where: { active: true } });
  const scope = input.serviceId ?? null;
  const current = windowAt(rules, scope, now);
  return {
    now: now.toISOString(),
    current: current
      ? {
          ...current,
          start: current.start.toISOString(),
          end: current.end.toISOString(),
          stepCutoff: stepCutoff(current).toISOString(),
          rollbackDeadline: current.end.toISOString(),
        }
      : null,
    upcoming: nextWindows(rules, scope, now, input.count).map((w) => ({
      ...w,
      start: w.start.toISOString(),
      end: w.end.toISOString(),
    })),
  };
}

export async function setSubscription(
  prisma: PrismaClient,
  actor: Actor & { userId: string },
  input: z.infer<typeof subscriptionInput>,
) {
  const userId = actor.userId;
  await prisma.$transaction(async (tx) => {
    // Subscribing twice at once is subscribing (ON CONFLICT DO NOTHING; an upsert's insert would race).
    if (input.subscribed)
      await tx.notificationSubscription.createMany({ data: [{ userId, topic: input.topic }], skipDuplicates: true });
    else await tx.notificationSubscription.deleteMany({ where: { userId, topic: input.topic } });
    await recordAudit(tx, actor, {
      action: input.subscribed ? "subscription.added" : "subscription.removed",
      entityType: "User",
      entityId: userId,
      after: { topic: input.topic },
    });
  });
  return subscriptions(prisma, userId);
}

export async function subscriptions(prisma: PrismaClient, userId: string) {
  const rows = await prisma.notificationSubscription.findMany({ where: { userId } });
  return Object.fromEntries(TOPICS.map((t) => [t, rows.some((r) => r.topic === t)])) as Record<
    (typeof TOPICS)[number],
    boolean
  >;
}
