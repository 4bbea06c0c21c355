/** Reading the audit log: filtered, newest first, with cursor pagination on the sequence number. */
import { z } from "zod";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";

// What PostgreSQL can compare against: timestamps start in 4713 BC. (NUL characters, which it
// cannot store, are refused for every procedure by the procedure builder.)
const date = z.coerce.date({ error: "must be a date" }).min(new Date("0001-01-01T00:00:00.000Z"), "must be in the year 1 or later");
const text = (max: number) => z.string().trim().max(max, `must be at most ${max} characters`);

export const auditFilterInput = z
  .object({
    from: date.optional(),
    to: date.optional(),
    actor: text(200).optional(),
    action: text(100).optional(),
    entityType: text(100).optional(),
    entityId: text(200).optional(),
    text: text(200).optional(),
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
