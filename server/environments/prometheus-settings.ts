/**
 * An environment's Prometheus settings for the panel: read them (the bearer token only as "set" or
 * not), save them after a dry run against the Prometheus named (a query it refuses is refused here,
 * with Prometheus's own error, and nothing is saved), and remove them. Saving and removing are audited
 * in the same transaction, without the token. Domain code: the environments router calls these.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { DomainError, notFound } from "../errors.ts";
import { SLOTS, type Slot } from "../targets/driver.ts";
import { instantQuery, PrometheusQueryError } from "../targets/prometheus/client.ts";
import {
  DEFAULT_OUTAGE_LIMIT_SECONDS,
  DEFAULT_QUERIES,
  QUERY_FIELDS,
  QUERY_NAMES,
  type PrometheusSettings,
  type PrometheusSettingsInput,
  type QueryField,
} from "../targets/prometheus/config.ts";
import { windowQueries } from "../targets/prometheus/queries.ts";
import { templateValues } from "../targets/prometheus/source.ts";
import type { TargetRegistry } from "../targets/registry.ts";

export const prometheusEnvironmentInput = z.object({ environmentId: z.string().uuid("must be an environment id") });

/** How far back the dry run looks: long enough that a scraped counter has two samples in it. */
const DRY_RUN_WINDOW_MS = 60_000;

/** The settings as the browser may see them: the token only as whether one is set. */
export interface PrometheusSettingsView {
  environmentId: string;
  configured: boolean;
  url: string | null;
  hasBearerToken: boolean;
  requestsQuery: string;
  errorsQuery: string;
  latencyQuery: string;
  outageLimitSeconds: number;
  defaults: typeof DEFAULT_QUERIES & { outageLimitSeconds: number };
}

/** What the dry run found: how many series each query matched per slot (none is fine before any traffic). */
export type DryRun = Record<QueryField, Record<Slot, number>>;

type StoredSettings = PrometheusSettings & { environmentId: string };

function view(environmentId: string, row: StoredSettings | null): PrometheusSettingsView {
  return {
    environmentId,
    configured: row !== null,
    url: row?.url ?? null,
    hasBearerToken: Boolean(row?.bearerToken),
    requestsQuery: row?.requestsQuery ?? DEFAULT_QUERIES.requestsQuery,
    errorsQuery: row?.errorsQuery ?? DEFAULT_QUERIES.errorsQuery,
    latencyQuery: row?.latencyQuery ?? DEFAULT_QUERIES.latencyQuery,
    outageLimitSeconds: row?.outageLimitSeconds ?? DEFAULT_OUTAGE_LIMIT_SECONDS,
    defaults: { ...DEFAULT_QUERIES, outageLimitSeconds: DEFAULT_OUTAGE_LIMIT_SECONDS },
  };
}

/** For the audit log: everything but the token, which appears only as whether there is one. */
function audited(row: StoredSettings | null) {
  if (!row) return null;
  return {
    url: row.url,
    bearerToken: row.bearerToken ? "set" : "none",
    requestsQuery: row.requestsQuery,
    errorsQuery: row.errorsQuery,
    latencyQuery: row.latencyQuery,
    outageLimitSeconds: row.outageLimitSeconds,
  };
}

async function loadEnvironment(prisma: PrismaClient, id: string) {
  const env = await prisma.environment.findUnique({ where: { id }, include: { service: true, prometheus: true } });
  if (!env) throw notFound(`Environment ${id}`);
  return env;
}

export async function prometheusSettings(prisma: PrismaClient, environmentId: string): Promise<PrometheusSettingsView> {
  const env = await loadEnvironment(prisma, environmentId);
  return view(env.id, env.prometheus);
}

/** "the latency query" at the start of a sentence. */
const atStart = (words: string) => words.charAt(0).toUpperCase() + words.slice(1);

/**
 * Runs the environment's queries for both slots over the last minute against the Prometheus named.
 * A refusal names the field it is about: the URL when Prometheus cannot be reached, the token when it
 * turns the token away, else the query, with Prometheus's own error.
 */
export async function dryRun(
  settings: PrometheusSettings,
  env: { serviceSlug: string; name: string },
  now = new Date(),
): Promise<DryRun> {
  const window = { from: new Date(now.getTime() - DRY_RUN_WINDOW_MS), to: now };
  const found = {} as DryRun;
  for (const field of QUERY_FIELDS) {
    found[field] = { blue: 0, green: 0 };
    for (const slot of SLOTS) {
      const query = windowQueries(settings, templateValues(env, slot), window)[field];
      let series;
      try {
        series = await instantQuery(settings, query, now);
      } catch (error) {
        if (!(error instanceof PrometheusQueryError)) throw error;
        if (error.kind === "unreachable")
          throw new DomainError("invalid", `Check the Prometheus URL: ${error.message}`, "url");
        // "Prometheus at … answered HTTP 401 …: check the bearer token"
        if (error.kind === "unauthorized") throw new DomainError("invalid", error.message, "bearerToken");
        throw new DomainError("invalid", `${atStart(QUERY_NAMES[field])} does not run: ${error.message}`, field);
      }
      if (field === "latencyQuery" && series.some((s) => s.labels.le === undefined)) {
        throw new DomainError(
          "invalid",
          `${atStart(QUERY_NAMES[field])} selects series without an "le" label; select a histogram's _bucket series, e.g. http_request_duration_seconds_bucket{…}`,
          field,
        );
      }
      found[field][slot] = series.length;
    }
  }
  return found;
}

/** A new source (it has just answered the dry run) or none: an outage of the old one no longer counts. */
function restartOutageClock(tx: Prisma.TransactionClient, environmentId: string) {
  return tx.deployment.updateMany({
    where: { activeEnvironmentId: environmentId, metricsOutageSince: { not: null } },
    data: { metricsOutageSince: null },
  });
}

/** Where the settings are kept, and the metric source that must hear of a change. */
export interface PrometheusSettingsServices {
  prisma: PrismaClient;
  targets: Pick<TargetRegistry, "metricsSourceChanged">;
}

/** Saves an environment's Prometheus settings once a dry run against that Prometheus passes. */
export async function savePrometheusSettings(
  { prisma, targets }: PrometheusSettingsServices,
  actor: Actor,
  input: PrometheusSettingsInput,
): Promise<{ settings: PrometheusSettingsView; dryRun: DryRun }> {
  const env = await loadEnvironment(prisma, input.environmentId);
  const settings: PrometheusSettings = {
    url: input.url.replace(/\/+$/, ""),
    // Absent keeps the stored token; null removes it.
    bearerToken: input.bearerToken === undefined ? (env.prometheus?.bearerToken ?? null) : input.bearerToken,
    requestsQuery: input.requestsQuery,
    errorsQuery: input.errorsQuery,
    latencyQuery: input.latencyQuery,
    outageLimitSeconds: input.outageLimitSeconds,
  };
  // Outside the transaction: no database lock is held while Prometheus answers.
  const found = await dryRun(settings, { serviceSlug: env.service.slug, name: env.name });
  const saved = await prisma.$transaction(async (tx) => {
    const before = await tx.prometheusSource.findUnique({ where: { environmentId: env.id } });
    const after = await tx.prometheusSource.upsert({
      where: { environmentId: env.id },
      create: { environmentId: env.id, ...settings },
      update: settings,
    });
    await restartOutageClock(tx, env.id);
    await recordAudit(tx, actor, {
      action: "environment.prometheus_configured",
      entityType: "Environment",
      entityId: env.id,
      environmentId: env.id,
      before: audited(before),
      after: { ...audited(after), bearerTokenChanged: (before?.bearerToken ?? null) !== after.bearerToken },
    });
    return after;
  });
  targets.metricsSourceChanged();
  return { settings: view(env.id, saved), dryRun: found };
}

/** The environment's gates read its target's own figures again. */
export async function removePrometheusSettings(
  { prisma, targets }: PrometheusSettingsServices,
  actor: Actor,
  environmentId: string,
): Promise<PrometheusSettingsView> {
  const removed = await prisma.$transaction(async (tx) => {
    const before = await tx.prometheusSource.findUnique({ where: { environmentId } });
    if (!before) {
      if (!(await tx.environment.findUnique({ where: { id: environmentId } })))
        throw notFound(`Environment ${environmentId}`);
      throw new DomainError("not_found", "This environment names no Prometheus", "environmentId");
    }
    await tx.prometheusSource.delete({ where: { environmentId } });
    await restartOutageClock(tx, environmentId);
    await recordAudit(tx, actor, {
      action: "environment.prometheus_removed",
      entityType: "Environment",
      entityId: environmentId,
      environmentId,
      before: audited(before),
      after: null,
    });
    return view(environmentId, null);
  });
  targets.metricsSourceChanged();
  return removed;
}
