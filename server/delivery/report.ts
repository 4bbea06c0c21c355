/**
 * Delivery metrics for the panel, read from the database: overall and per service over their
 * production environments (what DORA measures), and per environment, over a chosen period with the
 * previous period and slices of this one for the trend. The computations are in dora.ts.
 */
import { z } from "zod";
import type { PrismaClient } from "../db/generated/client.ts";
import {
  covers,
  EMERGENCY_FOLLOW_UP_MS,
  previousPeriod,
  scopeMetrics,
  type DeploymentFact,
  type EmergencyFact,
  type Period,
  type ScopeMetrics,
} from "./dora.ts";

export const PERIOD_DAYS = [7, 30, 90] as const;
/** Slices of the period for the trend line: days of a week, roughly weeks of a month or a quarter. */
const SLICES: Record<(typeof PERIOD_DAYS)[number], number> = { 7: 7, 30: 6, 90: 13 };

export const deliveryInput = z.object({
  days: z
    .union(PERIOD_DAYS.map((d) => z.literal(d)) as [z.ZodLiteral<7>, z.ZodLiteral<30>, z.ZodLiteral<90>], {
      error: `must be one of ${PERIOD_DAYS.join(", ")} days`,
    })
    .default(30),
});

const DAY_MS = 24 * 3600 * 1000;

export interface EnvironmentRef {
  id: string;
  name: string;
  production: boolean;
  serviceId: string;
}

export interface DeliveryData {
  period: Period;
  services: { id: string; name: string; slug: string; environments: EnvironmentRef[] }[];
  deployments: (DeploymentFact & { production: boolean })[];
  emergencies: EmergencyFact[];
}

/** Terminal deployments and authorised emergencies from the start of the previous period on. */
export async function loadDeliveryData(prisma: PrismaClient, period: Period): Promise<DeliveryData> {
  const since = previousPeriod(period).from;
  const [services, deployments, emergencies] = await Promise.all([
    prisma.service.findMany({
      orderBy: { name: "asc" },
      select: {
        id: true,
        name: true,
        slug: true,
        environments: {
          orderBy: { position: "asc" },
          select: { id: true, name: true, production: true, serviceId: true },
        },
      },
    }),
    prisma.deployment.findMany({
      where: {
        status: { in: ["succeeded", "rolled_back", "failed", "aborted"] },
        finishedAt: { gte: since, lt: period.to },
      },
      select: {
        environmentId: true,
        status: true,
        finishedAt: true,
        breachAt: true,
        release: { select: { commitAt: true } },
        environment: { select: { serviceId: true, production: true } },
      },
    }),
    prisma.emergencyRequest.findMany({
      // Authorised (and perhaps closed since): an emergency someone had to declare and another approve.
      where: {
        status: { in: ["authorized", "closed"] },
        decidedAt: { not: null },
        createdAt: { gte: new Date(since.getTime() - EMERGENCY_FOLLOW_UP_MS), lt: period.to },
      },
      select: { environmentId: true, serviceId: true, createdAt: true },
    }),
  ]);
  return {
    period,
    services,
    deployments: deployments.map((d) => ({
      environmentId: d.environmentId,
      serviceId: d.environment.serviceId,
      production: d.environment.production,
      status: d.status as DeploymentFact["status"],
      finishedAt: d.finishedAt!,
      breachAt: d.breachAt,
      commitAt: d.release.commitAt,
    })),
    emergencies: emergencies.map((e) => ({ environmentId: e.environmentId, serviceId: e.serviceId, at: e.createdAt })),
  };
}

export interface DeliveryReport {
  period: { from: Date; to: Date; days: number };
  overall: ScopeMetrics;
  services: {
    id: string;
    name: string;
    slug: string;
    metrics: ScopeMetrics;
    environments: (Omit<EnvironmentRef, "serviceId"> & { metrics: ScopeMetrics })[];
  }[];
}

/** Figures for a set of environments: their deployments and the emergencies that concern any of them. */
function metricsFor(data: DeliveryData, environments: EnvironmentRef[], sliceCount: number): ScopeMetrics {
  const ids = new Set(environments.map((e) => e.id));
  const deployments = data.deployments.filter((d) => ids.has(d.environmentId));
  const emergencies = data.emergencies.filter((e) =>
    environments.some((env) => covers(e, { environmentId: env.id, serviceId: env.serviceId })),
  );
  return scopeMetrics(deployments, emergencies, data.period, sliceCount);
}

export function buildDeliveryReport(data: DeliveryData, days: number, sliceCount: number): DeliveryReport {
  const production = data.services.flatMap((s) => s.environments.filter((e) => e.production));
  return {
    period: { ...data.period, days },
    overall: metricsFor(data, production, sliceCount),
    services: data.services.map((service) => ({
      id: service.id,
      name: service.name,
      slug: service.slug,
      metrics: metricsFor(
        data,
        service.environments.filter((e) => e.production),
        sliceCount,
      ),
      environments: service.environments.map(({ serviceId: _service, ...env }) => ({
        ...env,
        metrics: metricsFor(data, [{ ...env, serviceId: service.id }], sliceCount),
      })),
    })),
  };
}

export async function deliveryReport(
  prisma: PrismaClient,
  input: z.infer<typeof deliveryInput>,
  now = new Date(),
): Promise<DeliveryReport> {
  const period = { from: new Date(now.getTime() - input.days * DAY_MS), to: now };
  return buildDeliveryReport(await loadDeliveryData(prisma, period), input.days, SLICES[input.days]);
}
