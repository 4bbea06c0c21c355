/**
 * Redeploying an earlier release: a rollback to a known good version, days later. It goes through
 * the same gates as any deployment; in production that means a change request of its own (the one
 * the release first went out with was used), which this drafts, naming the earlier deployment it
 * returns to. Approvals, the checklist and windows then hold as for any change.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import { conflict, invalid } from "../errors.ts";
import { releaseInEnvironment } from "../releases/catalog.ts";
import { createChangeRequest } from "./change-requests.ts";
import type { Notifier } from "./notifications.ts";

export const redeployInput = z.object({
  releaseId: z.string().uuid("must be a release id"),
  environmentId: z.string().uuid("must be an environment id"),
  reason: z.string().trim().max(2000, "must be at most 2000 characters").default(""),
});

/** The last successful deployment of the release in the environment: what makes it known good there. */
export async function knownGoodDeployment(prisma: PrismaClient, releaseId: string, environmentId: string) {
  return prisma.deployment.findFirst({
    where: { releaseId, environmentId, status: "succeeded" },
    orderBy: { finishedAt: "desc" },
    include: { release: true, environment: true },
  });
}

export async function requestRedeploy(
  prisma: PrismaClient,
  notifier: Notifier | null,
  actor: Actor & { userId: string },
  input: z.infer<typeof redeployInput>,
) {
  // The same reading as a start or a change request: 404 for either missing, and a release of another
  // service refused by name (it used to be told it had "never succeeded" here).
  const { environment, release } = await releaseInEnvironment(prisma, input);
  if (!environment.production)
    throw invalid(
      "environmentId",
      `The environment ${environment.name} is not a production environment; start the deployment directly`,
    );
  if (environment.liveReleaseId === release.id)
    throw conflict(`Release ${release.version} is already live in ${environment.name}`, "releaseId");
  const earlier = await knownGoodDeployment(prisma, release.id, environment.id);
  if (!earlier)
    throw invalid(
      "releaseId",
      `Release ${release.version} has never succeeded in ${environment.name}, so it is not a known good version to return to`,
    );
  const live = environment.liveReleaseId
    ? await prisma.release.findUnique({ where: { id: environment.liveReleaseId } })
    : null;
  const when = (earlier.finishedAt ?? earlier.startedAt).toISOString();
  return createChangeRequest(prisma, notifier, actor, {
    releaseId: release.id,
    environmentId: environment.id,
    type: "standard",
    title: `Redeploy ${release.version} to ${environment.name} (roll back to a known good version)`,
    description: [
      `Returns ${environment.name} from ${live?.version ?? "its current release"} to ${release.version}, which succeeded there in deployment ${earlier.id} (finished ${when}).`,
      input.reason,
    ]
      .filter(Boolean)
      .join("\n\n"),
  });
}
