/**
 * Deployment checklists. Each environment has an editable template; each release gets its own copy
 * of the items per environment. Manual items are ticked by a person with a note or link; automatic
 * items are completed by evidence CI posts with a per-service API token (server/pipelines/tokens.ts).
 * Required items must be complete before a production deployment may start. Every tick, untick and
 * piece of evidence is audited.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { forbidden, invalid, notFound } from "../errors.ts";
import { releaseInEnvironment } from "../releases/catalog.ts";

export interface TemplateItem {
  key: string;
  title: string;
  kind: "manual" | "automatic";
  required: boolean;
}

/** The common production list. Scans, tests and benchmarks are reported by CI. */
export const DEFAULT_PRODUCTION_CHECKLIST: TemplateItem[] = [
  { key: "code_review", title: "Code review completed and approved", kind: "manual", required: true },
  { key: "security_scan", title: "Security scan passed (SAST/DAST)", kind: "automatic", required: true },
  { key: "tests_passing", title: "All tests passing (unit, integration, e2e)", kind: "automatic", required: true },
  { key: "performance_benchmarks", title: "Performance benchmarks met", kind: "automatic", required: true },
  { key: "migrations_tested", title: "Database migrations tested", kind: "manual", required: true },
  { key: "feature_flags", title: "Feature flags configured", kind: "manual", required: true },
  { key: "monitoring_alerts", title: "Monitoring alerts updated", kind: "manual", required: true },
  { key: "documentation", title: "Documentation updated", kind: "manual", required: true },
  { key: "rollback_plan", title: "Rollback plan prepared", kind: "manual", required: true },
  { key: "stakeholder_notification", title: "Stakeholder notification sent", kind: "manual", required: true },
];

const key = z
  .string()
  .trim()
  .regex(/^[a-z0-9_]{1,40}$/, "must be 1–40 lowercase letters, digits or underscores");
const uuid = (what: string) => z.string().uuid(`must be ${what} id`);
const link = z
  .string()
  .trim()
  .max(500, "must be at most 500 characters")
  .refine((v) => {
    try {
      return ["http:", "https:"].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, "must be an http:// or https:// link");

export const templateInput = z.object({
  environmentId: uuid("an environment"),
  items: z
    .array(
      z.object({
        key,
        title: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters"),
        kind: z.enum(["manual", "automatic"], { error: "must be manual or automatic" }),
        required: z.boolean(),
      }),
    )
    .max(50, "must have at most 50 items")
    .refine((items) => new Set(items.map((i) => i.key)).size === items.length, "must not repeat a key"),
});

export const tickInput = z.object({
  releaseId: uuid("a release"),
  environmentId: uuid("an environment"),
  key,
  done: z.boolean(),
  note: z.string().trim().max(1000, "must be at most 1000 characters").optional(),
  link: link.optional(),
});

export const evidenceInput = z.object({
  item: key,
  status: z.enum(["passed", "failed"], { error: "must be passed or failed" }),
  url: link.optional(),
  details: z.string().trim().max(2000, "must be at most 2000 characters").optional(),
  /** Limit the evidence to one environment (by name); by default every environment with the item. */
  environment: z.string().trim().max(32, "must be at most 32 characters").optional(),
});

type Db = Prisma.TransactionClient;

/** An environment's template, by the environment's id (404 when there is none). */
export async function templateOfEnvironment(prisma: PrismaClient, environmentId: string) {
  return prisma.$transaction(async (tx) => {
    const environment = await tx.environment.findUnique({ where: { id: environmentId } });
    if (!environment) throw notFound(`Environment ${environmentId}`);
    return templateFor(tx, environment);
  });
}

/** The environment's template; a production environment without one starts from the default list. */
export async function templateFor(tx: Db, environment: { id: string; production: boolean }) {
  const rows = await tx.checklistTemplateItem.findMany({
    where: { environmentId: environment.id },
    orderBy: { position: "asc" },
  });
  if (rows.length > 0 || !environment.production) return rows;
  await tx.checklistTemplateItem.createMany({
    data: DEFAULT_PRODUCTION_CHECKLIST.map((item, position) => ({ environmentId: environment.id, position, ...item })),
    skipDuplicates: true,
  });
  return tx.checklistTemplateItem.findMany({ where: { environmentId: environment.id }, orderBy: { position: "asc" } });
}

/** The release's items for an environment, copied from the template when first needed. */
export async function itemsFor(tx: Db, releaseId: string, environment: { id: string; production: boolean }) {
  const template = await templateFor(tx, environment);
  await tx.checklistItem.createMany({
    data: template.map((t) => ({
      releaseId,
      environmentId: environment.id,
      key: t.key,
      title: t.title,
      kind: t.kind,
      required: t.required,
      position: t.position,
    })),
    skipDuplicates: true,
  });
  return tx.checklistItem.findMany({
    where: { releaseId, environmentId: environment.id },
    orderBy: [{ position: "asc" }, { key: "asc" }],
  });
}

export async function checklistFor(prisma: PrismaClient, releaseId: string, environmentId: string) {
  return prisma.$transaction(async (tx) => {
    const environment = await tx.environment.findUnique({ where: { id: environmentId } });
    if (!environment) throw notFound(`Environment ${environmentId}`);
    if (!(await tx.release.findUnique({ where: { id: releaseId } }))) throw notFound(`Release ${releaseId}`);
    const items = await itemsFor(tx, releaseId, environment);
    const users = await tx.user.findMany({
      where: { id: { in: items.map((i) => i.completedById).filter((x): x is string => Boolean(x)) } },
      select: { id: true, name: true, email: true },
    });
    return items.map((i) => ({ ...i, completedBy: users.find((u) => u.id === i.completedById) ?? null }));
  });
}

/** Titles of required items not yet complete. */
export async function incompleteRequired(
  tx: Db,
  releaseId: string,
  environment: { id: string; production: boolean },
): Promise<string[]> {
  const items = await itemsFor(tx, releaseId, environment);
  return items.filter((i) => i.required && !i.done).map((i) => i.title);
}

export async function updateTemplate(prisma: PrismaClient, actor: Actor, input: z.infer<typeof templateInput>) {
  return prisma.$transaction(async (tx) => {
    const environment = await tx.environment.findUnique({ where: { id: input.environmentId } });
    if (!environment) throw notFound(`Environment ${input.environmentId}`);
    const before = await templateFor(tx, environment);
    await tx.checklistTemplateItem.deleteMany({ where: { environmentId: environment.id } });
    await tx.checklistTemplateItem.createMany({
      data: input.items.map((item, position) => ({ environmentId: environment.id, position, ...item })),
    });
    await recordAudit(tx, actor, {
      action: "checklist.template_changed",
      entityType: "Environment",
      entityId: environment.id,
      serviceId: environment.serviceId,
      environmentId: environment.id,
      before: before.map(({ key: k, title, kind, required }) => ({ key: k, title, kind, required })),
      after: input.items,
    });
    return input.items.length;
  });
}

export async function tick(prisma: PrismaClient, actor: Actor & { userId: string }, input: z.infer<typeof tickInput>) {
  return prisma.$transaction((tx) => tickIn(tx, actor, input));
}

export const tickManyInput = z.object({
  releaseId: uuid("a release"),
  environmentId: uuid("an environment"),
  keys: z
    .array(key)
    .min(1, "must name at least one item")
    .max(50, "must name at most 50 items")
    .refine((keys) => new Set(keys).size === keys.length, "must not repeat an item"),
  note: z.string().trim().max(1000, "must be at most 1000 characters").optional(),
  link: link.optional(),
});

/** Ticks several manual items with one note or link: all or none, each audited on its own, in one transaction. */
export async function tickMany(
  prisma: PrismaClient,
  actor: Actor & { userId: string },
  input: z.infer<typeof tickManyInput>,
) {
  return prisma.$transaction(async (tx) => {
    const ticked = [];
    for (const k of input.keys)
      ticked.push(
        await tickIn(tx, actor, {
          releaseId: input.releaseId,
          environmentId: input.environmentId,
          key: k,
          done: true,
          note: input.note,
          link: input.link,
        }),
      );
    return ticked;
  });
}

async function tickIn(tx: Db, actor: Actor & { userId: string }, input: z.infer<typeof tickInput>) {
  const { environment, release } = await releaseInEnvironment(tx, input);
  const items = await itemsFor(tx, release.id, environment);
  const item = items.find((i) => i.key === input.key);
  if (!item) throw invalid("key", `The checklist of ${environment.name} has no item "${input.key}"`);
  if (item.kind === "automatic")
    throw invalid("key", `The checklist item "${item.title}" is completed by evidence from CI, not by hand`);
  if (input.done && !input.note && !input.link) throw invalid("note", "Ticking an item needs a note or a link");
  const after = await tx.checklistItem.update({
    where: { id: item.id },
    data: input.done
      ? {
          done: true,
          note: input.note ?? null,
          link: input.link ?? null,
          completedById: actor.userId,
          completedAt: new Date(),
        }
      : { done: false, note: input.note ?? item.note, completedById: null, completedAt: null },
  });
  await recordAudit(tx, actor, {
    action: input.done ? "checklist.ticked" : "checklist.unticked",
    entityType: "ChecklistItem",
    entityId: item.id,
    serviceId: environment.serviceId,
    environmentId: environment.id,
    before: { key: item.key, done: item.done, note: item.note, link: item.link },
    after: { key: after.key, done: after.done, note: after.note, link: after.link, release: release.version },
  });
  return after;
}

/**
 * Evidence from CI, posted with an API token that has the evidence:write scope (see
 * server/pipelines/tokens.ts, which has already accepted it for the release's service).
 */
export async function postEvidence(
  prisma: PrismaClient,
  caller: { name: string; serviceId: string; actor: Actor },
  releaseId: string,
  input: z.infer<typeof evidenceInput>,
) {
  const release = await prisma.release.findUnique({ where: { id: releaseId } });
  if (!release) throw notFound(`Release ${releaseId}`);
  if (release.serviceId !== caller.serviceId)
    throw forbidden(`the API token "${caller.name}" belongs to another service`);

  return prisma.$transaction(async (tx) => {
    const environments = await tx.environment.findMany({
      where: { serviceId: release.serviceId, ...(input.environment ? { name: input.environment } : {}) },
    });
    if (input.environment && environments.length === 0)
      throw invalid("environment", `The service has no environment "${input.environment}"`);
    const updated: string[] = [];
    for (const environment of environments) {
      const items = await itemsFor(tx, release.id, environment);
      const item = items.find((i) => i.key === input.item && i.kind === "automatic");
      if (!item) continue;
      const evidence = {
        status: input.status,
        url: input.url ?? null,
        details: input.details ?? null,
        token: caller.name,
        at: new Date().toISOString(),
      };
      await tx.checklistItem.update({
        where: { id: item.id },
        data: {
          done: input.status === "passed",
          evidence,
          completedAt: input.status === "passed" ? new Date() : null,
          completedById: null,
        },
      });
      await recordAudit(tx, caller.actor, {
        action: "checklist.evidence",
        entityType: "ChecklistItem",
        entityId: item.id,
        serviceId: release.serviceId,
        environmentId: environment.id,
        before: { done: item.done, evidence: item.evidence },
        after: { key: item.key, release: release.version, ...evidence },
      });
      updated.push(environment.name);
    }
    if (updated.length === 0)
      throw invalid(
        "item",
        `The checklist item "${input.item}" is not an automatic checklist item of ${release.version}`,
      );
    return { item: input.item, status: input.status, environments: updated };
  });
}
