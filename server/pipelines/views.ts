/**
 * What the pipeline API answers, shaped from the panel's own read models so that a pipeline sees
 * what a person sees (and whatever the engine adds to gate results and rollback reasons).
 */
import type { z } from "zod";
import type { PrismaClient } from "../db/generated/client.ts";
import { notFound } from "../errors.ts";
import { deploymentDetail } from "../releases/queries.ts";
import { verdictOf, type deploymentBody, type releaseBody, type serviceBody } from "./api.ts";

type Detail = Awaited<ReturnType<typeof deploymentDetail>>;

export function deploymentView(d: Detail, publicUrl: string, afterSeq = 0): z.infer<typeof deploymentBody> {
  return {
    id: d.id,
    url: `${publicUrl}/deployments/${d.id}`,
    service: d.service.slug,
    environment: d.environment.name,
    version: d.release.version,
    status: d.status,
    verdict: verdictOf(d.status),
    statusDetail: d.statusDetail,
    stepIndex: d.stepIndex,
    steps: d.steps,
    emergency: d.emergency,
    startedAt: d.startedAt.toISOString(),
    finishedAt: d.finishedAt?.toISOString() ?? null,
    rollbackReason: (d.rollbackReason as Record<string, unknown> | null) ?? null,
    failureReason: d.failureReason,
    gates: d.gateResults.map((g) => ({ ...g, at: g.at instanceof Date ? g.at.toISOString() : g.at })),
    smokeFailures: d.smokeResults
      .filter((r) => !r.ok)
      .map((r) => ({ round: r.round, name: r.name, status: r.status, detail: r.detail })),
    events: d.events
      .filter((e) => e.seq > afterSeq)
      .map((e) => ({ seq: e.seq, at: e.at.toISOString(), kind: e.kind, message: e.message })),
  };
}

export async function deploymentById(prisma: PrismaClient, id: string, publicUrl: string, afterSeq = 0) {
  return deploymentView(await deploymentDetail(prisma, id), publicUrl, afterSeq);
}

export async function releaseView(
  prisma: PrismaClient,
  serviceId: string,
  version: string,
): Promise<z.infer<typeof releaseBody>> {
  const release = await prisma.release.findUnique({
    where: { serviceId_version: { serviceId, version } },
    include: { service: true, deployments: { orderBy: { startedAt: "desc" }, include: { environment: true } } },
  });
  if (!release) throw notFound(`Release ${version}`);
  return {
    id: release.id,
    service: release.service.slug,
    version: release.version,
    artifact: release.artifact,
    commitSha: release.commitSha,
    commitTime: release.commitAt?.toISOString() ?? null,
    notes: release.notes,
    createdAt: release.createdAt.toISOString(),
    deployments: release.deployments.map((d) => ({
      id: d.id,
      environment: d.environment.name,
      status: d.status,
      verdict: verdictOf(d.status),
      startedAt: d.startedAt.toISOString(),
      finishedAt: d.finishedAt?.toISOString() ?? null,
    })),
  };
}

export async function serviceView(prisma: PrismaClient, serviceId: string): Promise<z.infer<typeof serviceBody>> {
  const service = await prisma.service.findUniqueOrThrow({
    where: { id: serviceId },
    include: {
      environments: {
        orderBy: { position: "asc" },
        include: {
          liveRelease: true,
          deployments: { where: { activeEnvironmentId: { not: null } }, include: { release: true } },
        },
      },
    },
  });
  return {
    id: service.id,
    slug: service.slug,
    name: service.name,
    environments: service.environments.map((e) => {
      const active = e.deployments[0];
      return {
        name: e.name,
        production: e.production,
        liveVersion: e.liveRelease?.version ?? null,
        activeDeployment: active ? { id: active.id, version: active.release.version, status: active.status } : null,
      };
    }),
  };
}
