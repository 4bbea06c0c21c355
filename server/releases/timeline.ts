/**
 * A deployment's timeline. Events are numbered 1, 2, 3, … per deployment in the transaction that
 * makes the change they describe; the deployment row is locked first, so the numbers never skip
 * or repeat, whichever panel instance writes.
 */
import type { Prisma } from "../db/generated/client.ts";
import type { TimelineEntry } from "./plan.ts";

export async function appendEvent(
  tx: Prisma.TransactionClient,
  deploymentId: string,
  entry: TimelineEntry,
  at = new Date(),
): Promise<number> {
  await tx.$queryRaw`SELECT id FROM "Deployment" WHERE id = ${deploymentId} FOR UPDATE`;
  const [row] = await tx.$queryRaw<
    { next: number }[]
  >`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM "DeploymentEvent" WHERE "deploymentId" = ${deploymentId}`;
  const seq = Number(row!.next);
  await tx.deploymentEvent.create({
    data: {
      deploymentId,
      seq,
      at,
      kind: entry.kind,
      message: entry.message,
      data: (entry.data ?? undefined) as Prisma.InputJsonValue | undefined,
    },
  });
  return seq;
}
