/**
 * After a production deployment succeeds, the people concerned may rate it from 1 to 5 with a
 * comment. The 30-day average is shown against a 4.5 target.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import { notFound, preconditionFailed } from "../errors.ts";

export const SURVEY_TARGET = 4.5;

export const surveyInput = z.object({
  deploymentId: z.string().uuid("must be a deployment id"),
  rating: z
    .number()
    .int("must be a whole number from 1 to 5")
    .min(1, "must be a whole number from 1 to 5")
    .max(5, "must be a whole number from 1 to 5"),
  comment: z.string().trim().max(2000, "must be at most 2000 characters").default(""),
});

export async function submitSurvey(
  prisma: PrismaClient,
  actor: Actor & { userId: string },
  input: z.infer<typeof surveyInput>,
) {
  return prisma.$transaction(async (tx) => {
    const deployment = await tx.deployment.findUnique({
      where: { id: input.deploymentId },
      include: { environment: true },
    });
    if (!deployment) throw notFound(`Deployment ${input.deploymentId}`);
    if (!deployment.environment.production)
      throw preconditionFailed("Surveys are for production deployments; this deployment is not one", "deploymentId");
    if (deployment.status !== "succeeded")
      throw preconditionFailed(
        `The deployment is ${deployment.status.replace(/_/g, " ")}; only a succeeded deployment can be rated`,
        "deploymentId",
      );
    const before = await tx.deploymentSurvey.findUnique({
      where: { deploymentId_userId: { deploymentId: deployment.id, userId: actor.userId } },
    });
    const after = await tx.deploymentSurvey.upsert({
      where: { deploymentId_userId: { deploymentId: deployment.id, userId: actor.userId } },
      create: { deploymentId: deployment.id, userId: actor.userId, rating: input.rating, comment: input.comment },
      update: { rating: input.rating, comment: input.comment },
    });
    await recordAudit(tx, actor, {
      action: before ? "survey.updated" : "survey.submitted",
      entityType: "Deployment",
      entityId: deployment.id,
      environmentId: deployment.environmentId,
      before: before ? { rating: before.rating, comment: before.comment } : null,
      after: { rating: after.rating, comment: after.comment },
    });
    return after;
  });
}

export async function surveySummary(prisma: PrismaClient, now = new Date()) {
  const since = new Date(now.getTime() - 30 * 86_400_000);
  const result = await prisma.deploymentSurvey.aggregate({
    where: { createdAt: { gte: since } },
    _avg: { rating: true },
    _count: true,
  });
  const average = result._avg.rating === null ? null : Math.round(result._avg.rating * 100) / 100;
  return {
    average,
    responses: result._count,
    target: SURVEY_TARGET,
    meetsTarget: average === null ? null : average >= SURVEY_TARGET,
  };
}

export async function surveysFor(prisma: PrismaClient, deploymentId: string) {
  const rows = await prisma.deploymentSurvey.findMany({ where: { deploymentId }, orderBy: { createdAt: "asc" } });
  const users = await prisma.user.findMany({
    where: { id: { in: rows.map((r) => r.userId) } },
    select: { id: true, name: true },
  });
  return rows.map((r) => ({
    rating: r.rating,
    comment: r.comment,
    at: r.createdAt,
    userId: r.userId,
    by: users.find((u) => u.id === r.userId)?.name ?? "someone",
  }));
}
