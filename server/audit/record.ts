/**
 * Appends an audit event inside the caller's transaction, so the event exists exactly when the
 * change it records does. The chain head row is locked for the rest of the transaction: events are
 * appended one at a time across every panel instance, and an event's time is never earlier than its
 * predecessor's.
 */
import type { Prisma } from "../db/generated/client.ts";
import type { Actor } from "./actor.ts";
import { hashEvent, toStoredJson, toStoredText } from "./chain.ts";

export type AuditTx = Prisma.TransactionClient;

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId?: string | null;
  before?: unknown;
  after?: unknown;
  serviceId?: string | null;
  environmentId?: string | null;
}

export async function recordAudit(
  tx: AuditTx,
  actor: Actor,
  entry: AuditEntry,
): Promise<{ seq: number; hash: string }> {
  // The head, locked, and when its event was written (the newest event may have been purged by
  // now only if every event was; then there is nothing to keep in order with).
  const [head] = await tx.$queryRaw<{ seq: bigint; hash: string; at: string | null }[]>`
    SELECT h.seq, h.hash, to_char(e."at", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
    FROM "AuditChainHead" h LEFT JOIN "AuditEvent" e ON e.seq = h.seq
    WHERE h.id = 1 FOR UPDATE OF h`;
  if (!head) throw new Error("The audit chain head is missing: migrations have not been applied");
  // Times never go backwards along the chain (a panel instance whose clock lags another's takes the
  // newest event's time instead): auditors' time filters rely on it (see query.ts).
  const now = new Date();
  const previous = head.at ? new Date(head.at) : null;
  const fields = {
    seq: Number(head.seq) + 1,
    at: previous && previous.getTime() > now.getTime() ? previous : now,
    actorId: toStoredText(actor.userId),
    actorEmail: toStoredText(actor.email),
    actorRoles: actor.roles.map(toStoredText),
    action: toStoredText(entry.action),
    entityType: toStoredText(entry.entityType),
    entityId: toStoredText(entry.entityId ?? null),
    before: toStoredJson(entry.before),
    after: toStoredJson(entry.after),
    ip: toStoredText(actor.ip),
    traceId: toStoredText(actor.traceId),
    serviceId: entry.serviceId ?? (entry.environmentId ? await serviceOf(tx, entry.environmentId) : null),
    environmentId: entry.environmentId ?? null,
  };
  const hash = hashEvent(head.hash, fields);
  await tx.auditEvent.create({
    data: {
      ...fields,
      seq: BigInt(fields.seq),
      before: fields.before === null ? undefined : (fields.before as object),
      after: fields.after === null ? undefined : (fields.after as object),
      prevHash: head.hash,
      hash,
    },
  });
  await tx.auditChainHead.update({ where: { id: 1 }, data: { seq: BigInt(fields.seq), hash } });
  return { seq: fields.seq, hash };
}

/** An event about an environment is about its service too: auditors filtering by service find it. */
async function serviceOf(tx: AuditTx, environmentId: string): Promise<string | null> {
  const env = await tx.environment.findUnique({ where: { id: environmentId }, select: { serviceId: true } });
  return env?.serviceId ?? null;
}
