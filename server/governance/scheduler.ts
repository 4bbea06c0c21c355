/**
 * Durable scheduling of notices: reminders 1 week, 24 hours and 1 hour before each maintenance
 * window, and overdue post-incident reviews. Each notice is a row with a unique key; an instance
 * claims a due row, delivers it and marks it sent. In-app notifications are written in the same
 * transaction as the mark (exactly once); webhook and e-mail copies go out just before it and carry
 * the notice's key, so a panel killed in that instant causes at most a duplicate that receivers can
 * recognise — never a lost notice. A panel that was down when a notice fell due sends it when it
 * comes back, as long as the window has not started and no later notice has become due instead.
 */
import os from "node:os";
import type { Logger } from "pino";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import type { Notifier } from "./notifications.ts";
import { describeWindow, windowsFor, type WindowOccurrence } from "./windows.ts";

export const NOTICE_OFFSETS = [
  { label: "1 week", key: "1w", ms: 7 * 24 * 3600_000 },
  { label: "24 hours", key: "24h", ms: 24 * 3600_000 },
  { label: "1 hour", key: "1h", ms: 3600_000 },
] as const;

/** A claim older than this is presumed to belong to a panel that died while delivering. */
const CLAIM_TIMEOUT_MS = 2 * 60_000;

interface WindowNoticePayload {
  ruleId: string;
  name: string;
  timezone: string;
  start: string;
  end: string;
  offset: string;
}

export function windowNoticeKey(occurrence: Pick<WindowOccurrence, "ruleId" | "start">, offsetKey: string): string {
  return `window:${occurrence.ruleId}:${occurrence.start.toISOString()}:${offsetKey}`;
}

export class NoticeScheduler {
  readonly instanceId = `${os.hostname()}#${process.pid}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly options: {
      prisma: PrismaClient;
      log: Logger;
      notifier: Notifier;
      intervalMs: number;
      now?: () => Date;
    },
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.options.log.warn({ action: "scheduler.failed", metadata: { error } }, "Notice scheduler pass failed"),
        )
        .finally(() => (this.running = null));
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: plan the notices of the coming windows, then deliver what is due. */
  async runOnce(): Promise<number> {
    await this.planWindowNotices();
    return this.deliverDue();
  }

  async planWindowNotices(): Promise<void> {
    const { prisma } = this.options;
    const now = this.now();
    const rules = await prisma.maintenanceWindowRule.findMany({ where: { active: true } });
    const horizon = new Date(now.getTime() + NOTICE_OFFSETS[0].ms + 24 * 3600_000);
    const data = rules.flatMap((rule) =>
      windowsFor([rule], rule.serviceId, now, horizon).flatMap((occurrence) =>
        NOTICE_OFFSETS
          // Notices that fell due before the rule existed are never sent (no retroactive reminders).
          .filter((offset) => occurrence.start.getTime() - offset.ms >= rule.createdAt.getTime())
          .map((offset) => ({
            key: windowNoticeKey(occurrence, offset.key),
            kind: "window_notice",
            dueAt: new Date(occurrence.start.getTime() - offset.ms),
            payload: {
              ruleId: occurrence.ruleId,
              name: occurrence.name,
              timezone: occurrence.timezone,
              start: occurrence.start.toISOString(),
              end: occurrence.end.toISOString(),
              offset: offset.label,
            } satisfies WindowNoticePayload,
          })),
      ),
    );
    if (data.length) await prisma.scheduledNotice.createMany({ data, skipDuplicates: true });
  }

  /** Claims and delivers every due notice; returns how many were sent. */
  async deliverDue(): Promise<number> {
    const { prisma } = this.options;
    const now = this.now();
    const due = await prisma.scheduledNotice.findMany({
      where: {
        sentAt: null,
        dueAt: { lte: now },
        OR: [{ claimedBy: null }, { claimedAt: { lt: new Date(now.getTime() - CLAIM_TIMEOUT_MS) } }],
      },
      orderBy: { dueAt: "asc" },
      take: 50,
    });
    let sent = 0;
    for (const notice of due) {
      const { count } = await prisma.scheduledNotice.updateMany({
        where: { id: notice.id, sentAt: null, claimedBy: notice.claimedBy, claimedAt: notice.claimedAt },
        data: { claimedBy: this.instanceId, claimedAt: now },
      });
      if (count === 0) continue;
      try {
        if (await this.deliver(notice, now)) sent++;
      } catch (error) {
        // Released for a retry on a later pass.
        await prisma.scheduledNotice.updateMany({
          where: { id: notice.id, claimedBy: this.instanceId },
          data: { claimedBy: null, claimedAt: null },
        });
        this.options.log.warn(
          { action: "scheduler.delivery_failed", metadata: { key: notice.key, error } },
          "A scheduled notice could not be delivered",
        );
      }
    }
    return sent;
  }

  private async deliver(
    notice: { id: string; key: string; kind: string; payload: Prisma.JsonValue },
    now: Date,
  ): Promise<boolean> {
    const { prisma, notifier } = this.options;
    const built = await this.build(notice, now);
    if (!built) {
      await prisma.scheduledNotice.update({ where: { id: notice.id }, data: { sentAt: now } });
      return false;
    }
    if (built.external) await notifier.sendExternal(built.recipients, { ...built.notice, dedupeKey: notice.key });
    const push = await prisma.$transaction(async (tx) => {
      const { count } = await tx.scheduledNotice.updateMany({
        where: { id: notice.id, sentAt: null, claimedBy: this.instanceId },
        data: { sentAt: now },
      });
      if (count === 0) return null;
      return notifier.record(built.recipients, { ...built.notice, dedupeKey: notice.key, external: false }, tx);
    });
    await push?.();
    return push !== null;
  }

  /** What a notice says and to whom; null when it no longer applies (the window began, the review is done). */
  private async build(notice: { kind: string; payload: Prisma.JsonValue }, now: Date) {
    const { prisma, notifier } = this.options;
    if (notice.kind === "window_notice") {
      const p = notice.payload as unknown as WindowNoticePayload;
      const start = new Date(p.start);
      if (start <= now) return null;
      // A notice overtaken by a later one (a rule added a day before its window: the week's notice)
      // is dropped; the latest relevant one goes out.
      const offset = NOTICE_OFFSETS.findIndex((o) => o.label === p.offset);
      const finer = NOTICE_OFFSETS[offset + 1];
      if (finer && start.getTime() - finer.ms <= now.getTime()) return null;
      const rule = await prisma.maintenanceWindowRule.findUnique({ where: { id: p.ruleId } });
      if (!rule || !rule.active) return null;
      const when = describeWindow({ start: new Date(p.start), end: new Date(p.end) }, p.timezone);
      return {
        recipients: await notifier.subscribers("maintenance"),
        external: true,
        notice: {
          kind: "window_notice",
          title: `Maintenance window in ${p.offset}: ${p.name}`,
          body: `${p.name}: ${when}.`,
          link: "/maintenance",
        },
      };
    }
    if (notice.kind === "review_overdue") {
      const { reviewId } = notice.payload as { reviewId: string };
      const review = await prisma.postIncidentReview.findUnique({
        where: { id: reviewId },
        include: { emergency: true },
      });
      if (!review || review.status !== "open") return null;
      return {
        recipients: [review.ownerId, ...(await notifier.usersWithRoles(["cto", "oncall"]))],
        external: true,
        notice: {
          kind: "review_overdue",
          title: "Post-incident review overdue",
          body: `The review of "${review.emergency.reason}" was due ${review.dueAt.toISOString()}.`,
          link: `/maintenance?review=${review.id}`,
        },
      };
    }
    return null;
  }
}
