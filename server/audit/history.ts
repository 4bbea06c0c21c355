/**
 * A service's deployment history for auditors: every deployment, newest first, with its release,
 * environment, outcome, who started it, its figures, and the governance evidence as it stood when
 * the deployment started — read only from the snapshot kept with the deployment
 * (Deployment.governance, written by server/governance/start-guard.ts), never from the change
 * requests and checklists as they are now, which may have moved on.
 *
 * A snapshot that does not have the expected shape is not hidden: it comes back as it is stored,
 * with what is wrong with it.
 */
import { z } from "zod";
import type { PrismaClient } from "../db/generated/client.ts";
import { invalid, notFound } from "../errors.ts";

export const deploymentHistoryInput = z.object({
  serviceId: z.string({ error: "must be a service id" }).uuid("must be a service id"),
  /** The id of the last deployment of the previous page. */
  cursor: z.string({ error: "must be a deployment id" }).uuid("must be a deployment id").optional(),
  limit: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(100, "must be at most 100")
    .default(20),
});

const nullableString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const person = z.object({ email: z.string(), name: z.string() });

const evidenceSchema = z
  .object({
    status: z.string(),
    url: nullableString,
    details: z.unknown().transform((v) => (v === undefined ? null : v)),
    token: nullableString,
    at: nullableString,
  })
  .nullish()
  .transform((v) => v ?? null);

export const governanceSnapshotSchema = z.object({
  changeRequest: z
    .object({ id: z.string(), type: z.string(), title: z.string(), revision: z.number(), requestedBy: person })
    .nullish()
    .transform((v) => v ?? null),
  approvals: z.array(
    z.object({ role: z.string(), approver: person, decision: z.string(), reason: nullableString, at: z.string() }),
  ),
  checklist: z.array(
    z.object({
      key: z.string(),
      title: z.string(),
      kind: z.string(),
      required: z.boolean(),
      done: z.boolean(),
      note: nullableString,
      link: nullableString,
      completedBy: person.nullish().transform((v) => v ?? null),
      completedAt: nullableString,
      evidence: evidenceSchema,
    }),
  ),
  window: z
    .object({ name: z.string(), start: z.string(), end: z.string() })
    .nullish()
    .transform((v) => v ?? null),
  emergency: z
    .object({ id: z.string(), authorizedBy: person.nullish().transform((v) => v ?? null), reason: z.string() })
    .nullish()
    .transform((v) => v ?? null),
});

export type GovernanceRecord = z.infer<typeof governanceSnapshotSchema>;

/**
 * The snapshot as recorded, or null when there is none (a non-production environment, or a
 * deployment from before governance); a snapshot that is stored but not in the expected shape is
 * null here and comes back as stored, with what is wrong with it, in `unreadable`.
 */
export function readGovernance(stored: unknown): {
  governance: GovernanceRecord | null;
  unreadable: { problem: string; stored: unknown } | null;
} {
  if (stored === null || stored === undefined) return { governance: null, unreadable: null };
  const parsed = governanceSnapshotSchema.safeParse(stored);
  if (parsed.success) return { governance: parsed.data, unreadable: null };
  return {
    governance: null,
    unreadable: {
      problem: parsed.error.issues.map((i) => `${i.path.join(".") || "snapshot"}: ${i.message}`).join("; "),
      stored,
    },
  };
}

export async function deploymentHistory(prisma: PrismaClient, input: z.infer<typeof deploymentHistoryInput>) {
  const service = await prisma.service.findUnique({
    where: { id: input.serviceId },
    select: { id: true, name: true, slug: true },
  });
  if (!service) throw notFound(`Service ${input.serviceId}`);
  let after: { startedAt: Date; id: string } | null = null;
  if (input.cursor) {
    const row = await prisma.deployment.findUnique({
      where: { id: input.cursor },
      select: { id: true, startedAt: true, environment: { select: { serviceId: true } } },
    });
    if (!row || row.environment.serviceId !== service.id)
      throw invalid("cursor", `The cursor must be a deployment of ${service.name}`);
    after = { startedAt: row.startedAt, id: row.id };
  }
  const rows = await prisma.deployment.findMany({
    where: {
      environment: { serviceId: service.id },
      ...(after
        ? { OR: [{ startedAt: { lt: after.startedAt } }, { startedAt: after.startedAt, id: { lt: after.id } }] }
        : {}),
    },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: input.limit + 1,
    include: { release: true, environment: true, startedBy: { select: { email: true, name: true } } },
  });
  const page = rows.slice(0, input.limit);
  return {
    service,
    deployments: page.map((d) => ({
      id: d.id,
      release: {
        id: d.release.id,
        version: d.release.version,
        artifact: d.release.artifact,
        commitSha: d.release.commitSha,
      },
      environment: { id: d.environment.id, name: d.environment.name, production: d.environment.production },
      status: d.status,
      outcome: d.outcome,
      failureReason: d.failureReason,
      emergency: d.emergency,
      changeRequestId: d.changeRequestId,
      startedBy: d.startedBy ? { email: d.startedBy.email, name: d.startedBy.name } : null,
      startedAt: d.startedAt,
      finishedAt: d.finishedAt,
      figures: d.figures,
      ...readGovernance(d.governance),
    })),
    nextCursor: rows.length > input.limit ? page[page.length - 1]!.id : null,
  };
}
