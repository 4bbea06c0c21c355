/**
 * Services, their environments (in promotion order) and releases. Every change is audited in the
 * same transaction; inputs are validated with messages that name the field.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { conflict, invalid, notFound } from "../errors.ts";
import { rollbackHooksSchema } from "./hooks.ts";
import { alertThresholdsSchema, DEFAULT_ALERT_THRESHOLDS, defaultPolicy, policySchema } from "./policy.ts";

export const DEFAULT_ENVIRONMENTS = ["development", "staging", "production"] as const;

const slugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "must be lowercase letters, digits and dashes (at most 63), starting with a letter or digit",
  );
const environmentName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be lowercase letters, digits and dashes (at most 32)");

export const createServiceInput = z.object({
  name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
  slug: slugSchema.optional(),
  description: z.string().trim().max(500, "must be at most 500 characters").default(""),
  environments: z
    .array(environmentName)
    .min(1, "must name at least one environment")
    .max(8, "must have at most 8 environments")
    .refine((names) => new Set(names).size === names.length, "must not repeat a name")
    .default([...DEFAULT_ENVIRONMENTS]),
});

export const updatePolicyInput = z.object({
  environmentId: z.string().uuid("must be an environment id"),
  policy: policySchema,
});
export const updateAlertThresholdsInput = z.object({
  environmentId: z.string().uuid("must be an environment id"),
  thresholds: alertThresholdsSchema,
});
export const setRollbackHooksInput = z.object({
  environmentId: z.string().uuid("must be an environment id"),
  hooks: rollbackHooksSchema,
});
export const setTrafficGeneratorInput = z.object({
  environmentId: z.string().uuid("must be an environment id"),
  enabled: z.boolean(),
  rate: z
    .number()
    .int()
    .min(1, "must be between 1 and 500 requests per second")
    .max(500, "must be between 1 and 500 requests per second")
    .optional(),
});

/** What a release's processes are told; the demo service understands these. */
export const releaseSettingsSchema = z
  .object({
    failureRate: z.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1").optional(),
    latencyMs: z
      .number()
      .int()
      .min(0, "must be between 0 and 60000")
      .max(60_000, "must be between 0 and 60000")
      .optional(),
    latencyJitterMs: z
      .number()
      .int()
      .min(0, "must be between 0 and 60000")
      .max(60_000, "must be between 0 and 60000")
      .optional(),
    startupDelayMs: z
      .number()
      .int()
      .min(0, "must be between 0 and 600000")
      .max(600_000, "must be between 0 and 600000")
      .optional(),
    healthy: z.boolean().optional(),
  })
  .strict();

export const createReleaseInput = z.object({
  serviceId: z.string().uuid("must be a service id"),
  version: z
    .string()
    .trim()
    .regex(/^[\w.+-]{1,64}$/, "must be 1–64 letters, digits, dots, dashes, pluses or underscores (e.g. 1.4.2)"),
  artifact: z.string().trim().min(1, "must not be empty").max(300, "must be at most 300 characters"),
  commitSha: z
    .string()
    .trim()
    // Both cases spelled out, so the OpenAPI pattern (which carries no flags) means the same; 64 for SHA-256 repositories.
    .regex(/^[0-9a-fA-F]{7,64}$/, "must be a git commit hash (7–64 hex digits)")
    .optional(),
  /** When the commit was made: lead time for changes runs from here to live in production. */
  commitTime: z.iso
    .datetime({ offset: true, error: "must be an ISO 8601 time with a zone, such as 2026-11-30T14:05:00Z" })
    .optional(),
  notes: z.string().trim().max(5000, "must be at most 5000 characters").default(""),
  settings: releaseSettingsSchema.default({}),
});

function slugify(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 63) || "service"
  );
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

export async function createService(prisma: PrismaClient, actor: Actor, input: z.infer<typeof createServiceInput>) {
  const slug = input.slug ?? slugify(input.name);
  return prisma.$transaction(async (tx) => {
    if (await tx.service.findUnique({ where: { slug } }))
      throw conflict(`A service with the slug "${slug}" already exists`, "slug");
    const service = await tx.service.create({ data: { name: input.name, slug, description: input.description } });
    const environments = [];
    for (const [position, name] of input.environments.entries()) {
      const production = name === "production" || name === "prod";
      environments.push(
        await tx.environment.create({
          data: {
            serviceId: service.id,
            name,
            position,
            production,
            policy: json(defaultPolicy(production)),
            alertThresholds: json(DEFAULT_ALERT_THRESHOLDS),
          },
        }),
      );
    }
    await recordAudit(tx, actor, {
      action: "service.created",
      entityType: "Service",
      entityId: service.id,
      after: { name: service.name, slug, environments: environments.map((e) => e.name) },
    });
    return { service, environments };
  });
}

async function updateEnvironment(
  prisma: PrismaClient,
  actor: Actor,
  environmentId: string,
  action: string,
  field: "policy" | "alertThresholds" | "rollbackHooks",
  value: unknown,
  audit: (before: unknown) => { before: unknown; after: unknown } = (before) => ({ before, after: value }),
) {
  return prisma.$transaction(async (tx) => {
    const before = await tx.environment.findUnique({ where: { id: environmentId } });
    if (!before) throw notFound(`Environment ${environmentId}`);
    const after = await tx.environment.update({ where: { id: environmentId }, data: { [field]: json(value) } });
    await recordAudit(tx, actor, {
      action,
      entityType: "Environment",
      entityId: environmentId,
      ...audit(before[field]),
    });
    return after;
  });
}

export function updatePolicy(prisma: PrismaClient, actor: Actor, input: z.infer<typeof updatePolicyInput>) {
  return updateEnvironment(prisma, actor, input.environmentId, "environment.policy_changed", "policy", input.policy);
}

export function updateAlertThresholds(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof updateAlertThresholdsInput>,
) {
  return updateEnvironment(
    prisma,
    actor,
    input.environmentId,
    "environment.alert_thresholds_changed",
    "alertThresholds",
    input.thresholds,
  );
}

export function setRollbackHooks(prisma: PrismaClient, actor: Actor, input: z.infer<typeof setRollbackHooksInput>) {
  // URLs may carry credentials: the audit records names and kinds, not URLs.
  const summary = (hooks: unknown) =>
    Array.isArray(hooks) ? hooks.map((h: { name?: string; kind?: string }) => ({ name: h.name, kind: h.kind })) : [];
  return updateEnvironment(
    prisma,
    actor,
    input.environmentId,
    "environment.rollback_hooks_changed",
    "rollbackHooks",
    input.hooks,
    (before) => ({
      before: summary(before),
      after: summary(input.hooks),
    }),
  );
}

export async function setTrafficGenerator(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof setTrafficGeneratorInput>,
) {
  return prisma.$transaction(async (tx) => {
    const before = await tx.environment.findUnique({ where: { id: input.environmentId } });
    if (!before) throw notFound(`Environment ${input.environmentId}`);
    if (before.target !== "local")
      throw invalid(
        "environmentId",
        `The environment ${before.name} is not on the local target; the traffic generator exists there only`,
      );
    const after = await tx.environment.update({
      where: { id: input.environmentId },
      data: { trafficGenerator: input.enabled, trafficRate: input.rate ?? before.trafficRate },
    });
    await recordAudit(tx, actor, {
      action: input.enabled ? "environment.traffic_generator_started" : "environment.traffic_generator_stopped",
      entityType: "Environment",
      entityId: after.id,
      before: { enabled: before.trafficGenerator, rate: before.trafficRate },
      after: { enabled: after.trafficGenerator, rate: after.trafficRate },
    });
    return after;
  });
}

export async function createRelease(
  prisma: PrismaClient,
  actor: Actor & { userId: string | null },
  input: z.infer<typeof createReleaseInput>,
) {
  return prisma.$transaction(async (tx) => {
    const service = await tx.service.findUnique({ where: { id: input.serviceId } });
    if (!service) throw notFound(`Service ${input.serviceId}`);
    if (
      await tx.release.findUnique({
        where: { serviceId_version: { serviceId: input.serviceId, version: input.version } },
      })
    ) {
      throw conflict(`${service.name} already has a release with the version ${input.version}`, "version");
    }
    const release = await tx.release.create({
      data: {
        serviceId: input.serviceId,
        version: input.version,
        artifact: input.artifact,
        commitSha: input.commitSha,
        commitAt: input.commitTime ? new Date(input.commitTime) : null,
        notes: input.notes,
        settings: json(input.settings),
        createdById: actor.userId,
      },
    });
    await recordAudit(tx, actor, {
      action: "release.created",
      entityType: "Release",
      entityId: release.id,
      after: {
        service: service.slug,
        version: release.version,
        artifact: release.artifact,
        commitSha: release.commitSha,
        commitAt: release.commitAt,
        settings: input.settings,
      },
    });
    return release;
  });
}

/**
 * The environment (with its service) and the release a deployment, change request or checklist names:
 * 404 for either missing, and a field error when the release is another service's. Read in the
 * caller's transaction.
 */
export async function releaseInEnvironment(
  tx: Prisma.TransactionClient,
  input: { environmentId: string; releaseId: string },
) {
  const environment = await tx.environment.findUnique({
    where: { id: input.environmentId },
    include: { service: true },
  });
  if (!environment) throw notFound(`Environment ${input.environmentId}`);
  const release = await tx.release.findUnique({ where: { id: input.releaseId } });
  if (!release) throw notFound(`Release ${input.releaseId}`);
  if (release.serviceId !== environment.serviceId)
    throw invalid(
      "releaseId",
      `Release ${release.version} belongs to another service than ${environment.service.name}`,
    );
  return { environment, release };
}
