/**
 * Reads the audit log in sequence order and reports whether the hash chain is intact.
 *
 * The walk starts at the latest retention anchor (the last event the retention job purged: its
 * sequence number and hash), or at the genesis when nothing was ever purged, and ends at the chain
 * head as it was when the walk began (events appended meanwhile are left for the next run). The
 * anchor itself is checked against the audit.purged event that recorded it, which is part of the
 * chain: an anchor that was altered, removed, or added by anyone but the retention job is reported
 * as such, not merely as the events around it looking wrong.
 *
 * Given the latest signed checkpoint (checkpoint.ts, kept outside the database), the chain is also
 * compared with it: events cut from the newest end, even with the chain head moved back, or cut and
 * appended again, are named ("events 231–233 are missing since the checkpoint of …").
 */
import { Prisma, type PrismaClient } from "../db/generated/client.ts";
import { ChainChecker, GENESIS_HASH, type ChainBreak, type StoredEvent } from "./chain.ts";
import { compareWithCheckpoint, type ChainAtCheckpoint, type Checkpoint } from "./checkpoint.ts";
import { EVENT_COLUMNS, prismaReader, type EventTextRow } from "./query.ts";

export interface AnchorInfo {
  seq: number;
  hash: string;
  purgedBefore: Date;
  purgedCount: number;
  createdAt: Date;
}

export type ChainVerification =
  | {
      ok: true;
      checked: number;
      lastSeq: number;
      verifiedAt: Date;
      anchor: AnchorInfo | null;
      checkpoint: Checkpoint | null;
    }
  | {
      ok: false;
      checked: number;
      firstBrokenSeq: number;
      breaks: ChainBreak[];
      verifiedAt: Date;
      anchor: AnchorInfo | null;
      checkpoint: Checkpoint | null;
    };

export interface VerifyOptions {
  /** The latest signed checkpoint (already checked against its signature), or null when there is none. */
  checkpoint?: Checkpoint | null;
}

/** What an audit.purged event records about the anchor it wrote (see retention.ts). */
export interface PurgeRecord {
  anchorSeq: number;
  anchorHash: string;
}

export function purgeRecordOf(after: unknown): PurgeRecord | null {
  if (!after || typeof after !== "object") return null;
  const { anchorSeq, anchorHash } = after as Record<string, unknown>;
  return typeof anchorSeq === "number" && typeof anchorHash === "string" ? { anchorSeq, anchorHash } : null;
}

export const PURGE_ACTION = "audit.purged";
const BATCH = 5000;

function storedEvent(row: EventTextRow): StoredEvent {
  return {
    ...row,
    seq: Number(row.seq),
    at: new Date(row.at),
    actorRoles: row.actorRoles === null ? [] : (JSON.parse(row.actorRoles) as string[]),
    before: row.before === null ? null : (JSON.parse(row.before) as unknown),
    after: row.after === null ? null : (JSON.parse(row.after) as unknown),
  };
}

async function latestAnchor(prisma: PrismaClient): Promise<AnchorInfo | null> {
  const row = await prisma.auditAnchor.findFirst({ orderBy: [{ seq: "desc" }, { id: "desc" }] });
  return row
    ? {
        seq: Number(row.seq),
        hash: row.hash,
        purgedBefore: row.purgedBefore,
        purgedCount: row.purgedCount,
        createdAt: row.createdAt,
      }
    : null;
}

/** What the database holds where a checkpoint points (see compareWithCheckpoint). */
export async function chainAtCheckpoint(prisma: PrismaClient, checkpoint: Checkpoint): Promise<ChainAtCheckpoint> {
  const [head, event, newest, anchor] = await Promise.all([
    prisma.auditChainHead.findUnique({ where: { id: 1 } }),
    prisma.auditEvent.findUnique({ where: { seq: BigInt(checkpoint.seq) }, select: { seq: true, hash: true } }),
    prisma.auditEvent.aggregate({ where: { seq: { lte: BigInt(checkpoint.seq) } }, _max: { seq: true } }),
    latestAnchor(prisma),
  ]);
  return {
    headSeq: Number(head?.seq ?? 0),
    event: event ? { seq: Number(event.seq), hash: event.hash } : null,
    newestStoredUpTo: Number(newest._max.seq ?? anchor?.seq ?? 0),
    anchorSeq: anchor?.seq ?? 0,
  };
}

export async function verifyAuditChain(prisma: PrismaClient, options: VerifyOptions = {}): Promise<ChainVerification> {
  // A purge that lands while we walk moves the start: walk again from the new anchor.
  for (let attempt = 1; ; attempt++) {
    const result = await verifyOnce(prisma, options.checkpoint ?? null);
    if (result !== "anchor-moved") return result;
    if (attempt >= 3) throw new Error("The audit log was purged three times while being verified; try again");
  }
}

async function verifyOnce(
  prisma: PrismaClient,
  checkpoint: Checkpoint | null,
): Promise<ChainVerification | "anchor-moved"> {
  // The anchor before the head: a purge committed in between shows up as a moved anchor below,
  // never as a head that does not yet include the purge's own event.
  const anchor = await latestAnchor(prisma);
  const head = await prisma.auditChainHead.findUnique({ where: { id: 1 } });
  const headSeq = Number(head?.seq ?? 0);
  const start = anchor ?? { seq: 0, hash: GENESIS_HASH };
  const checker = new ChainChecker(start);
  const purges: { seq: number; record: PurgeRecord | null }[] = [];
  let lastSeq = start.seq;
  const reader = prismaReader(prisma);
  // Read as text and parsed here (twice as fast as Prisma's model mapping). Started at once, and
  // marked handled so that a failure while the previous batch is hashed surfaces when it is awaited.
  const fetch = (after: number): Promise<StoredEvent[]> => {
    const rows = (async () => {
      const raw = await reader.rows<EventTextRow>(Prisma.sql`
        SELECT ${EVENT_COLUMNS} FROM "AuditEvent"
        WHERE "AuditEvent"."seq" > ${after} AND "AuditEvent"."seq" <= ${headSeq}
        ORDER BY "AuditEvent"."seq" ASC LIMIT ${BATCH}`);
      return raw.map(storedEvent);
    })();
    rows.catch(() => {});
    return rows;
  };
  // The next batch is read while this one is hashed.
  let next: Promise<StoredEvent[]> | null = fetch(start.seq);
  while (next) {
    const rows: StoredEvent[] = await next;
    next = rows.length === BATCH ? fetch(rows[rows.length - 1]!.seq) : null;
    for (const row of rows) {
      checker.check(row);
      if (row.action === PURGE_ACTION) purges.push({ seq: row.seq, record: purgeRecordOf(row.after) });
      lastSeq = row.seq;
    }
  }
  checker.finish(headSeq, head?.hash);

  const now = await latestAnchor(prisma);
  if ((now?.seq ?? null) !== (anchor?.seq ?? null) || now?.hash !== anchor?.hash) return "anchor-moved";

  const walked = [...checker.breaks, ...(await anchorBreaks(prisma, anchor, purges))];
  // A cut the walk already saw (same place, same kind) is named once.
  const sinceCheckpoint = checkpoint
    ? compareWithCheckpoint(checkpoint, await chainAtCheckpoint(prisma, checkpoint)).filter(
        (b) => !walked.some((w) => w.seq === b.seq && w.kind === b.kind),
      )
    : [];
  const breaks = [...walked, ...sinceCheckpoint].sort(
    (a, b) => a.seq - b.seq || (a.kind === "anchor" ? -1 : b.kind === "anchor" ? 1 : 0),
  );
  const verifiedAt = new Date();
  if (breaks.length === 0) return { ok: true, checked: checker.checked, lastSeq, verifiedAt, anchor, checkpoint };
  return {
    ok: false,
    checked: checker.checked,
    firstBrokenSeq: breaks[0]!.seq,
    breaks,
    verifiedAt,
    anchor,
    checkpoint,
  };
}

/**
 * The anchor against the purges recorded in the chain: the newest surviving audit.purged event
 * names the anchor verification must start from, and every surviving one names an anchor that must
 * still exist. Rows at or before the anchor must be gone.
 */
async function anchorBreaks(
  prisma: PrismaClient,
  anchor: AnchorInfo | null,
  purges: { seq: number; record: PurgeRecord | null }[],
): Promise<ChainBreak[]> {
  const breaks: ChainBreak[] = [];
  for (const purge of purges) {
    if (!purge.record) {
      breaks.push({
        seq: purge.seq,
        kind: "anchor",
        detail: `event ${purge.seq} records a purge but not the anchor it left`,
      });
      continue;
    }
    const { anchorSeq, anchorHash } = purge.record;
    const stored = await prisma.auditAnchor.findMany({ where: { seq: BigInt(anchorSeq) } });
    if (stored.length === 0) {
      breaks.push({
        seq: anchorSeq,
        kind: "anchor",
        detail: `the retention anchor at event ${anchorSeq}, recorded by the purge in event ${purge.seq}, is missing: it was deleted`,
      });
    } else if (!stored.some((a) => a.hash === anchorHash)) {
      breaks.push({
        seq: anchorSeq,
        kind: "anchor",
        detail: `the retention anchor at event ${anchorSeq} does not match the purge in event ${purge.seq} that recorded it: the anchor was altered`,
      });
    }
  }
  if (anchor) {
    const recorded = purges.some((p) => p.record?.anchorSeq === anchor.seq);
    if (!recorded) {
      breaks.push({
        seq: anchor.seq,
        kind: "anchor",
        detail: `the retention anchor at event ${anchor.seq} is not recorded by any audit.purged event: the retention job did not make it`,
      });
    }
    const leftover = await prisma.auditEvent.count({ where: { seq: { lte: BigInt(anchor.seq) } } });
    if (leftover > 0) {
      breaks.push({
        seq: anchor.seq,
        kind: "anchor",
        detail: `${leftover} event(s) at or before the retention anchor (event ${anchor.seq}) are stored although they were purged`,
      });
    }
  }
  return breaks;
}
