/**
 * Appends an audit event inside the caller's transaction, so the event exists exactly when the
 * change it records does. The chain head row is locked for the rest of the transaction: events are
 * appended one at a time across every panel instance.
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

export async function recordAudit(tx: AuditTx, actor: Actor, entry: AuditEntry): Promise<{ seq: number; hash: string }> {
  const [head] = await tx.$queryRaw<{ seq: bigint; hash: string }[]>`SELECT seq, hash FROM "AuditChainHead" WHERE id = 1 FOR UPDATE`;
  if (!head) throw new Error("The audit chain head is missing: migrations have not been applied");
  const fields = {
    seq: Number(head.seq) + 1,
    at: new Date(),
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
    serviceId: entry.serviceId ?? null,
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
