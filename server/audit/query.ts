/** Reading the audit log: filtered, newest first, with cursor pagination on the sequence number. */
import { z } from "zod";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";

export const auditFilterInput = z
  .object({
    from: z.coerce.date({ error: "must be a date" }).optional(),
    to: z.coerce.date({ error: "must be a date" }).optional(),
    actor: z.string().trim().max(200, "must be at most 200 characters").optional(),
    action: z.string().trim().max(100, "must be at most 100 characters").optional(),
    entityType: z.string().trim().max(100, "must be at most 100 characters").optional(),
    entityId: z.string().trim().max(200, "must be at most 200 characters").optional(),
    text: z.string().trim().max(200, "must be at most 200 characters").optional(),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, { message: "must not be after 'to'", path: ["from"] });

export const auditPageInput = z.object({
  filter: auditFilterInput.default({}),
  /** The sequence number to continue below (exclusive). */
  cursor: z.number().int().positive().optional(),
  limit: z.number().int().min(1, "must be at least 1").max(500, "must be at most 500").default(50),
});

export type AuditFilter = z.infer<typeof auditFilterInput>;

export function auditWhere(filter: AuditFilter): Prisma.AuditEventWhereInput {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (filter.from) and.push({ at: { gte: filter.from } });
  if (filter.to) and.push({ at: { lte: filter.to } });
  if (filter.actor) and.push({ OR: [{ actorEmail: { contains: filter.actor, mode: "insensitive" } }, { actorId: filter.actor }] });
  if (filter.action) and.push({ action: { startsWith: filter.action } });
  if (filter.entityType) and.push({ entityType: filter.entityType });
  if (filter.entityId) and.push({ entityId: filter.entityId });
  if (filter.text) {
    and.push({
      OR: [
        { action: { contains: filter.text, mode: "insensitive" } },
        { entityId: { contains: filter.text, mode: "insensitive" } },
        { actorEmail: { contains: filter.text, mode: "insensitive" } },
        { entityType: { contains: filter.text, mode: "insensitive" } },
      ],
    });
  }
  return and.length ? { AND: and } : {};
}

export async function listAuditEvents(prisma: PrismaClient, input: z.infer<typeof auditPageInput>) {
  const rows = await prisma.auditEvent.findMany({
    where: { AND: [auditWhere(input.filter), input.cursor ? { seq: { lt: BigInt(input.cursor) } } : {}] },
    orderBy: { seq: "desc" },
    take: input.limit + 1,
  });
  const page = rows.slice(0, input.limit).map((row) => ({ ...row, seq: Number(row.seq) }));
  return { events: page, nextCursor: rows.length > input.limit ? page[page.length - 1]!.seq : null };
}
