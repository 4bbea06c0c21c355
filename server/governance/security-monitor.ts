/**
 * Security events in real time: a burst of failed sign-ins (from one address or for one account)
 * or of refused authorisations (by one user) raises a live alert to administrators, once per
 * subject per five minutes, and is audited.
 */
import { systemActor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import type { PanelEvents } from "../realtime/events.ts";
import type { Notifier } from "./notifications.ts";

export const BURST_THRESHOLD = 5;
export const BURST_WINDOW_MS = 60_000;
const ALERT_QUIET_MS = 5 * 60_000;

export type SecuritySignal =
  | { kind: "signin_failed"; ip: string; identifier: string }
  | { kind: "forbidden"; userId: string; email: string; ip: string };

export class SecurityMonitor {
  constructor(private readonly options: { prisma: PrismaClient; events: PanelEvents; notifier: Notifier }) {}

  /** Called after each failed sign-in or refused authorisation has been recorded. */
  async observe(signal: SecuritySignal, now = new Date()): Promise<void> {
    const since = new Date(now.getTime() - BURST_WINDOW_MS);
    const { prisma } = this.options;
    if (signal.kind === "signin_failed") {
      const [byIp, byAccount] = await Promise.all([
        prisma.signInFailure.count({ where: { ip: signal.ip, at: { gte: since } } }),
        prisma.signInFailure.count({ where: { identifier: signal.identifier, at: { gte: since } } }),
      ]);
      if (byIp >= BURST_THRESHOLD)
        await this.raise(`signin_failed:ip:${signal.ip}`, `${byIp} failed sign-ins in a minute from ${signal.ip}`, now);
      if (byAccount >= BURST_THRESHOLD && signal.identifier)
        await this.raise(
          `signin_failed:account:${signal.identifier}`,
          `${byAccount} failed sign-ins in a minute for ${signal.identifier}`,
          now,
        );
    } else {
      const refused = await prisma.auditEvent.count({
        where: { action: "auth.forbidden", actorId: signal.userId, at: { gte: since } },
      });
      if (refused >= BURST_THRESHOLD)
        await this.raise(
          `forbidden:${signal.userId}`,
          `${refused} refused authorisations in a minute for ${signal.email} (from ${signal.ip})`,
          now,
        );
    }
  }

  private async raise(subject: string, message: string, now: Date): Promise<void> {
    const { prisma, notifier, events } = this.options;
    const bucket = Math.floor(now.getTime() / ALERT_QUIET_MS);
    const dedupeKey = `security:${subject}:${bucket}`;
    const recent = await prisma.auditEvent.findFirst({
      where: { action: "security.alert", entityId: subject, at: { gte: new Date(now.getTime() - ALERT_QUIET_MS) } },
    });
    if (recent) return;
    const admins = await notifier.usersWithRoles(["admin"]);
    const push = await prisma.$transaction(async (tx) => {
      await recordAudit(tx, systemActor(), {
        action: "security.alert",
        entityType: "Security",
        entityId: subject,
        after: { message },
      });
      return notifier.record(
        admins,
        { kind: "security_alert", title: "Security alert", body: message, link: "/audit", dedupeKey, external: true },
        tx,
      );
    });
    events.emit("role:admin", "security:alert", { at: now.toISOString(), subject, message });
    await push().catch(() => {});
  }
}
