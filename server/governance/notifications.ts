/**
 * Telling people: in-app notifications (the notification centre), pushed live to the user's room,
 * and — for notices that matter beyond the panel — a Slack-compatible webhook and e-mail over SMTP
 * when they are configured. A dedupe key makes an in-app notice exactly-once per user; webhook and
 * e-mail deliveries carry the same key (header / Message-ID) so receivers can drop a repeat.
 */
import { createHash } from "node:crypto";
import nodemailer, { type Transporter } from "nodemailer";
import type { Logger } from "pino";
import type { Role } from "../auth/roles.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import type { PanelEvents } from "../realtime/events.ts";

export interface Notice {
  kind: string;
  title: string;
  body: string;
  link?: string;
  /** Same key, same notice: never delivered twice to the same person. */
  dedupeKey?: string;
  /** Also post to the webhook and send e-mail (when configured). */
  external?: boolean;
}

export interface NotifierOptions {
  prisma: PrismaClient;
  log: Logger;
  events: PanelEvents;
  webhookUrl?: string;
  smtpUrl?: string;
  smtpFrom: string;
  publicUrl: () => string;
}

type Db = PrismaClient | Prisma.TransactionClient;

export class Notifier {
  private transporter: Transporter | null;

  constructor(private readonly options: NotifierOptions) {
    this.transporter = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : null;
  }

  /** Active users holding any of the roles. */
  async usersWithRoles(roles: readonly Role[], db: Db = this.options.prisma): Promise<string[]> {
    const users = await db.user.findMany({
      where: { active: true, roles: { hasSome: [...roles] } },
      select: { id: true },
    });
    return users.map((u) => u.id);
  }

  async subscribers(topic: string, db: Db = this.options.prisma): Promise<string[]> {
    const rows = await db.notificationSubscription.findMany({ where: { topic }, select: { userId: true } });
    const active = await db.user.findMany({
      where: { id: { in: rows.map((r) => r.userId) }, active: true },
      select: { id: true },
    });
    return active.map((u) => u.id);
  }

  /**
   * Records in-app notifications (inside the caller's transaction when given one) and returns a
   * function that pushes them live and sends external copies — call it after the commit.
   */
  async record(recipients: string[], notice: Notice, db: Db = this.options.prisma): Promise<() => Promise<void>> {
    const unique = [...new Set(recipients)];
    if (unique.length > 0) {
      await db.notification.createMany({
        data: unique.map((userId) => ({
          userId,
          kind: notice.kind,
          title: notice.title,
          body: notice.body,
          link: notice.link ?? null,
          dedupeKey: notice.dedupeKey ?? null,
        })),
        skipDuplicates: true,
      });
    }
    return async () => {
      for (const userId of unique)
        this.options.events.emit(`user:${userId}`, "notification", {
          kind: notice.kind,
          title: notice.title,
          body: notice.body,
          link: notice.link ?? null,
        });
      if (notice.external) await this.sendExternal(unique, notice);
    };
  }

  /** Records and delivers in one go (outside any transaction). */
  async notify(recipients: string[], notice: Notice): Promise<void> {
    const deliver = await this.record(recipients, notice);
    await deliver();
  }

  private key(notice: Notice): string {
    return (
      notice.dedupeKey ??
      createHash("sha256").update(`${notice.kind}\n${notice.title}\n${notice.body}`).digest("hex").slice(0, 24)
    );
  }

  async sendExternal(recipients: string[], notice: Notice): Promise<void> {
    const link = notice.link ? new URL(notice.link, this.options.publicUrl()).toString() : null;
    const key = this.key(notice);
    const tasks: Promise<unknown>[] = [];
    if (this.options.webhookUrl) {
      // Slack-compatible: a `text` with mrkdwn; other chat tools accept the same shape.
      const text = `*${notice.title}*\n${notice.body}${link ? `\n<${link}|Open in Greenlight>` : ""}`;
      tasks.push(
        fetch(this.options.webhookUrl, {
          method: "POST",
          // At least once, with a key: a claimed notice a crash left unsent is sent again with the same one.
          headers: { "Content-Type": "application/json", "Idempotency-Key": key, "X-Greenlight-Notice": key },
          body: JSON.stringify({ text, greenlight: { kind: notice.kind, key, link } }),
          signal: AbortSignal.timeout(5000),
        }).then((r) => {
          if (!r.ok) throw new Error(`webhook answered ${r.status}`);
        }),
      );
    }
    if (this.transporter && recipients.length > 0) {
      const users = await this.options.prisma.user.findMany({
        where: { id: { in: recipients } },
        select: { email: true },
      });
      if (users.length > 0) {
        tasks.push(
          this.transporter.sendMail({
            from: this.options.smtpFrom,
            bcc: users.map((u) => u.email),
            subject: notice.title,
            text: `${notice.body}${link ? `\n\n${link}` : ""}`,
            messageId: `<${key}@greenlight>`,
          }),
        );
      }
    }
    const results = await Promise.allSettled(tasks);
    for (const result of results) {
      if (result.status === "rejected")
        this.options.log.warn(
          {
            action: "notify.external_failed",
            metadata: { kind: notice.kind, error: (result.reason as Error).message },
          },
          "A notification channel failed",
        );
    }
    if (results.some((r) => r.status === "rejected")) throw new Error("A notification channel failed");
  }

  close(): void {
    this.transporter?.close();
  }
}

export async function listNotifications(prisma: PrismaClient, userId: string, limit = 50) {
  const [items, unread] = await Promise.all([
    prisma.notification.findMany({ where: { userId }, orderBy: { createdAt: "desc" }, take: limit }),
    prisma.notification.count({ where: { userId, readAt: null } }),
  ]);
  return { items, unread };
}

export async function markRead(prisma: PrismaClient, userId: string, ids: string[] | "all"): Promise<number> {
  const { count } = await prisma.notification.updateMany({
    where: { userId, readAt: null, ...(ids === "all" ? {} : { id: { in: ids } }) },
    data: { readAt: new Date() },
  });
  return count;
}
