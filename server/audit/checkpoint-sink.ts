/**
 * Writes the audit chain's signed checkpoints (checkpoint.ts) to an append-only file outside the
 * database, and optionally to a webhook, and reads back the latest for verification.
 *
 * A new checkpoint is written only when the chain still contains the previous one: a chain that was
 * cut or rewritten since is never vouched for again. Instead the mismatch is reported (logged at
 * error level and handed to `onMismatch`, which tells administrators) on every tick until someone
 * deals with it.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { PrismaClient } from "../db/generated/client.ts";
import {
  checkpointDue,
  checkpointLine,
  compareWithCheckpoint,
  readCheckpointLine,
  signCheckpoint,
  type CheckpointKey,
  type CheckpointPolicy,
  type SignedCheckpoint,
} from "./checkpoint.ts";
import { chainAtCheckpoint } from "./verify.ts";

export interface CheckpointSinkOptions {
  prisma: PrismaClient;
  log: Logger;
  key: CheckpointKey;
  /** The append-only file (JSON lines). */
  file: string;
  policy: CheckpointPolicy;
  /** Each checkpoint is also POSTed here (Idempotency-Key: audit-checkpoint/<seq>). */
  webhookUrl?: string;
  /** Called with what is wrong when the chain no longer contains the latest checkpoint. */
  onMismatch?: (detail: string) => void;
}

const TAIL_CHUNK = 64 * 1024;
/** How often the chain head is looked at: often enough for "every N events", cheap (one row). */
const MAX_TICK_MS = 5000;

export class AuditCheckpointSink {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private webhookSentSeq = 0;
  private reportedMismatch: string | null = null;

  constructor(private readonly options: CheckpointSinkOptions) {}

  start(): void {
    const tickMs = Math.min(MAX_TICK_MS, this.options.policy.everyMs);
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((error: unknown) =>
          this.options.log.warn(
            { action: "audit.checkpoint_failed", metadata: { error } },
            "Could not write an audit checkpoint",
          ),
        )
        .finally(() => (this.running = null));
    }, tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** The newest checkpoint in the file that carries a valid signature, or null. */
  async latest(): Promise<SignedCheckpoint | null> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.options.file, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    try {
      // Read backwards in chunks until a valid line turns up: a torn last line (a crash mid-write)
      // falls back to the one before.
      let end = (await handle.stat()).size;
      let carry = "";
      while (end > 0) {
        const start = Math.max(0, end - TAIL_CHUNK);
        const buffer = Buffer.alloc(end - start);
        await handle.read(buffer, 0, buffer.length, start);
        const lines = (buffer.toString("utf8") + carry).split("\n");
        carry = start > 0 ? lines.shift()! : "";
        for (let i = lines.length - 1; i >= 0; i--) {
          const checkpoint = lines[i] ? readCheckpointLine(lines[i]!, this.options.key.publicKey) : null;
          if (checkpoint) return checkpoint;
        }
        end = start;
      }
      return carry ? readCheckpointLine(carry, this.options.key.publicKey) : null;
    } finally {
      await handle.close();
    }
  }

  /** Writes a checkpoint if one is due and the chain still contains the last one; returns it. */
  async tick(now = new Date()): Promise<SignedCheckpoint | null> {
    const { prisma, policy } = this.options;
    const last = await this.latest();
    if (last && last.seq > this.webhookSentSeq) await this.sendWebhook(last);
    const head = await prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    const headSeq = Number(head.seq);
    if (last) {
      const problems = compareWithCheckpoint(last, await chainAtCheckpoint(prisma, last));
      if (problems.length > 0) {
        const detail = problems.map((p) => p.detail).join("; ");
        this.options.log.error(
          { action: "audit.checkpoint_mismatch", metadata: { checkpoint: last, detail } },
          `The audit chain no longer contains its latest checkpoint: ${detail}`,
        );
        if (this.reportedMismatch !== detail) this.options.onMismatch?.(detail);
        this.reportedMismatch = detail;
        return null;
      }
      this.reportedMismatch = null;
    }
    if (!checkpointDue(last, { seq: headSeq }, now, policy)) return null;
    const checkpoint = signCheckpoint({ seq: headSeq, hash: head.hash, at: now.toISOString() }, this.options.key);
    await this.append(checkpointLine(checkpoint));
    this.options.log.info(
      { action: "audit.checkpoint_written", metadata: { seq: checkpoint.seq, hash: checkpoint.hash } },
      `Audit checkpoint at event ${checkpoint.seq}`,
    );
    await this.sendWebhook(checkpoint);
    return checkpoint;
  }

  private async append(line: string): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.options.file), { recursive: true });
    const handle = await fs.promises.open(this.options.file, "a", 0o600);
    try {
      await handle.write(line);
      // On disk before anyone relies on it.
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** At least once per checkpoint (retried on the next tick), with a key that names it. */
  private async sendWebhook(checkpoint: SignedCheckpoint): Promise<void> {
    if (!this.options.webhookUrl) return;
    try {
      const response = await fetch(this.options.webhookUrl, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Idempotency-Key": `audit-checkpoint/${checkpoint.seq}`,
          "User-Agent": "Greenlight audit checkpoint",
        },
        body: checkpointLine(checkpoint),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
      this.webhookSentSeq = checkpoint.seq;
    } catch (error) {
      this.options.log.warn(
        {
          action: "audit.checkpoint_webhook_failed",
          metadata: { seq: checkpoint.seq, error: (error as Error).message },
        },
        "Could not send an audit checkpoint to its webhook; will try again",
      );
    }
  }
}
