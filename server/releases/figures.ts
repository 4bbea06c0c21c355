/**
 * The numbers release teams live by, per deployment: how long it took (target < 30 min), how long
 * from a breach to all traffic back on the live slot (target < 5 min), how long from the release's
 * first failed request to that moment ("onset to rollback") and how many failed requests it served
 * before it ("blast radius"), how much the error rate moved after promotion (target < 0.1
 * percentage points) and how many seconds had traffic but no successful response at all (target 0).
 */
import type { PrismaClient } from "../db/generated/client.ts";

export const FIGURE_TARGETS = {
  durationSeconds: 30 * 60,
  breachToRollbackSeconds: 5 * 60,
  errorRateChangePp: 0.1,
  secondsWithoutSuccess: 0,
} as const;

export interface DeploymentFigures {
  durationSeconds: number;
  /** From a gate or smoke-test breach to 100 % on the live slot; null for a manual rollback (no breach). */
  breachToRollbackSeconds: number | null;
  /** From the release's first failed request to 100 % on the live slot. */
  onsetToRollbackSeconds: number | null;
  /** Failed requests the release served before the rollback. */
  blastRadiusRequests: number | null;
  /** From a person's rollback command to 100 % on the live slot. */
  commandToRollbackSeconds: number | null;
  errorRateChangePp: number | null;
  secondsWithoutSuccess: number;
  targets: typeof FIGURE_TARGETS;
}

/** Seconds in [from, to] in which the environment had requests but none succeeded (a CloudWatch period counts its length). */
export async function secondsWithoutSuccess(
  prisma: PrismaClient,
  environmentId: string,
  from: Date,
  to: Date,
): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: bigint | number | null }[]>`
    SELECT SUM(sec) AS n FROM (
      SELECT "at", MAX("seconds") AS sec FROM "MetricSample"
      WHERE "environmentId" = ${environmentId} AND "at" >= ${from} AND "at" <= ${to} AND NOT "vacant"
      GROUP BY "at"
      HAVING SUM("requests") > 0 AND SUM("requests") - SUM("errors") = 0
    ) s`;
  return Number(row?.n ?? 0);
}

export function computeFigures(input: {
  startedAt: Date;
  finishedAt: Date;
  breachAt: Date | null;
  rollbackCompletedAt: Date | null;
  /** The rollback was a person's command, not a breach. */
  manual?: boolean;
  onsetAt?: Date | null;
  failedRequests?: number | null;
  greenErrorRatePercent: number | null;
  baselineErrorRatePercent: number | null;
  secondsWithoutSuccess: number;
}): DeploymentFigures {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    durationSeconds: round((input.finishedAt.getTime() - input.startedAt.getTime()) / 1000),
    breachToRollbackSeconds:
      !input.manual && input.breachAt && input.rollbackCompletedAt
        ? round((input.rollbackCompletedAt.getTime() - input.breachAt.getTime()) / 1000)
        : null,
    commandToRollbackSeconds:
      input.manual && input.breachAt && input.rollbackCompletedAt
        ? round((input.rollbackCompletedAt.getTime() - input.breachAt.getTime()) / 1000)
        : null,
    onsetToRollbackSeconds:
      input.onsetAt && input.rollbackCompletedAt
        ? round(Math.max(0, input.rollbackCompletedAt.getTime() - input.onsetAt.getTime()) / 1000)
        : null,
    blastRadiusRequests: input.failedRequests ?? null,
    errorRateChangePp:
      input.greenErrorRatePercent !== null && input.baselineErrorRatePercent !== null
        ? round(input.greenErrorRatePercent - input.baselineErrorRatePercent)
        : null,
    secondsWithoutSuccess: input.secondsWithoutSuccess,
    targets: FIGURE_TARGETS,
  };
}
