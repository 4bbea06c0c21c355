/**
 * Retention: audit events are kept for two years, then purged, and the chain stays verifiable.
 *
 * A purge removes a prefix of the chain — every event up to the last one that, like all before it,
 * is older than the cut-off — in one transaction that:
 *   1. deletes the events through `greenlight_purge_audit_events`, a SECURITY DEFINER function
 *      owned by the tables' owner (migration 20261201100100_audit_guards): the append-only trigger
 *      lets only the owner delete, with the retention switch on, and the function deletes only a
 *      prefix of events that are all past two years by the database's own clock — so the panel's
 *      role can purge what retention allows and nothing else;
 *   3. writes an AuditAnchor with the last purged event's sequence number and hash, where
 *      verification starts from then on;
 *   4. records an audit.purged event (how many, before when, and the anchor), which the chain
 *      itself now vouches for: verify.ts checks the anchor against it.
 * Before deleting anything the events to be purged are verified: a purge never launders tampering
 * into an anchor. A broken segment is left in place and the refusal is audited.
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../db/generated/client.ts";
import { systemActor, type Actor } from "./actor.ts";
import { ChainChecker, GENESIS_HASH } from "./chain.ts";
import { recordAudit } from "./record.ts";
import { PURGE_ACTION } from "./verify.ts";

/** Audit events are kept this long at least. */
export const RETENTION_DAYS = 730;
const DAY_MS = 24 * 3600 * 1000;
const BATCH = 5000;

export class AuditPurgeRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditPurgeRefused";
  }
}

export interface PurgeResult {
  /** How many events were deleted (0: nothing was old enough, or another instance purged first). */
  purged: number;
  /** The anchor written, or null when nothing was purged. */
  anchor: { seq: number; hash: string } | null;
  /** The audit.purged event, or null when nothing was purged. */
  event: { seq: number; hash: string } | null;
}

export interface PurgeOptions {
  /**
   * Events strictly older than this are purged. Must be at least RETENTION_DAYS before `now`, and
   * the database checks the same against its own clock.
   */
  olderThan: Date;
  now?: Date;
  actor?: Actor;
  /** How long the purge transaction may take (default 10 minutes). */
  timeoutMs?: number;
}

async function currentAnchor(prisma: PrismaClient): Promise<{ seq: number; hash: string }> {
  const row = await prisma.auditAnchor.findFirst({ orderBy: [{ seq: "desc" }, { id: "desc" }] });
  return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
}

export async function purgeAuditEvents(prisma: PrismaClient, options: PurgeOptions): Promise<PurgeResult> {
  const now = options.now ?? new Date();
  const actor = options.actor ?? systemActor();
  const latestAllowed = new Date(now.getTime() - RETENTION_DAYS * DAY_MS);
  if (!(options.olderThan instanceof Date) || Number.isNaN(options.olderThan.getTime()))
    throw new AuditPurgeRefused("The purge's cut-off (older than) must be a date");
  if (options.olderThan > latestAllowed) {
    throw new AuditPurgeRefused(
      `Audit events are kept for ${RETENTION_DAYS} days; the purge's cut-off (older than) must be ${latestAllowed.toISOString()} or earlier (got ${options.olderThan.toISOString()})`,
    );
  }
  const nothing: PurgeResult = { purged: 0, anchor: null, event: null };

  // 1. The cut: walk from the anchor while events are older than the cut-off, verifying as we go.
  const start = await currentAnchor(prisma);
  const head = await prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
  const checker = new ChainChecker(start);
  let cut: { seq: number; hash: string } | null = null;
  let after = BigInt(start.seq);
  scan: for (;;) {
    const rows = await prisma.auditEvent.findMany({
      where: { seq: { gt: after, lte: head.seq } },
      orderBy: { seq: "asc" },
      take: BATCH,
    });
    for (const row of rows) {
      if (row.at >= options.olderThan) break scan;
      checker.check({ ...row, seq: Number(row.seq) });
      cut = { seq: Number(row.seq), hash: row.hash };
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1]!.seq;
  }
  if (!cut) return nothing;
  if (checker.breaks.length > 0) {
    const breaks = checker.breaks.map((b) => `${b.seq} ${b.kind}: ${b.detail}`);
    await prisma.$transaction((tx) =>
      recordAudit(tx, actor, {
        action: "audit.purge_refused",
        entityType: "AuditLog",
        after: {
          before: options.olderThan.toISOString(),
          fromSeq: start.seq + 1,
          throughSeq: cut.seq,
          breaks: breaks.slice(0, 20),
        },
      }),
    );
    throw new AuditPurgeRefused(
      `The events to be purged (${start.seq + 1}–${cut.seq}) do not verify, so they are kept as evidence: ${breaks.slice(0, 3).join("; ")}`,
    );
  }
  const through = cut;

  // 2. The purge itself, in one transaction, behind the chain head's lock (which every writer
  // takes, so a concurrent purge by another instance waits here and then finds the anchor moved).
  return prisma.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT seq FROM "AuditChainHead" WHERE id = 1 FOR UPDATE`;
      const anchorNow = await tx.auditAnchor.findFirst({ orderBy: [{ seq: "desc" }, { id: "desc" }] });
      if (Number(anchorNow?.seq ?? 0) !== start.seq) return nothing;
      const [deleted] = await tx.$queryRaw<
        { count: bigint }[]
      >`SELECT "greenlight_purge_audit_events"(${BigInt(through.seq)}::bigint, ${options.olderThan}::timestamp(3)) AS count`;
      const purged = Number(deleted!.count);
      // Every event up to the cut was just verified to be there: anything else means rows changed
      // under us, and the transaction is rolled back.
      const expected = through.seq - start.seq;
      if (purged !== expected)
        throw new Error(`The purge would delete ${purged} events where ${expected} were verified; nothing was purged`);
      await tx.auditAnchor.create({
        data: { seq: BigInt(through.seq), hash: through.hash, purgedBefore: options.olderThan, purgedCount: purged },
      });
      const event = await recordAudit(tx, actor, {
        action: PURGE_ACTION,
        entityType: "AuditLog",
        after: {
          count: purged,
          before: options.olderThan.toISOString(),
          anchorSeq: through.seq,
          anchorHash: through.hash,
        },
      });
      return { purged, anchor: through, event };
    },
    { timeout: options.timeoutMs ?? 10 * 60_000, maxWait: 60_000 },
  );
}

export interface RetentionJobOptions {
  /** How often to look for events past retention. */
  intervalMs: number;
  /** How long events are kept (default and minimum: RETENTION_DAYS). */
  retentionDays?: number;
  /** When the first run happens (default: ten minutes after start, or intervalMs if shorter). */
  firstRunAfterMs?: number;
}

/**
 * Purges events past retention now and then, on every panel instance (concurrent purges serialise
 * on the chain head; the later one finds nothing left to do). Returns a function that stops the
 * job and waits for a run in progress.
 */
export function startAuditRetention(
  deps: { prisma: PrismaClient; log: Logger },
  options: RetentionJobOptions,
): () => Promise<void> {
  const retentionDays = options.retentionDays ?? RETENTION_DAYS;
  if (!Number.isFinite(retentionDays) || retentionDays < RETENTION_DAYS)
    throw new Error(`Audit retention must be at least ${RETENTION_DAYS} days (got ${retentionDays})`);
  if (!Number.isFinite(options.intervalMs) || options.intervalMs < 1000)
    throw new Error(`The audit retention interval must be at least 1000 ms (got ${options.intervalMs})`);
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  const run = async () => {
    const olderThan = new Date(Date.now() - retentionDays * DAY_MS);
    try {
      const result = await purgeAuditEvents(deps.prisma, { olderThan });
      if (result.purged > 0) {
        deps.log.info(
          {
            action: "audit.purged",
            metadata: { count: result.purged, before: olderThan.toISOString(), anchorSeq: result.anchor?.seq },
          },
          `Purged ${result.purged} audit events older than ${olderThan.toISOString()}`,
        );
      }
    } catch (error) {
      deps.log.error(
        { action: "audit.purge_failed", metadata: { error } },
        `Audit retention purge failed: ${(error as Error).message}`,
      );
    }
  };
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = null;
        schedule(options.intervalMs);
      });
    }, delay);
    timer.unref();
  };
  schedule(options.firstRunAfterMs ?? Math.min(10 * 60_000, options.intervalMs));

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}
