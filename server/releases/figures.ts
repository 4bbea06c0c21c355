/**
 * The numbers release teams live by, per deployment: how long it took (target < 30 min), how long
 * from a breach to all traffic back on the live slot (target < 5 min), how much the error rate
 * moved after promotion (target < 0.1 percentage points) and how many seconds had traffic but no
 * successful response at all (target 0).
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
  breachToRollbackSeconds: number | null;
  errorRateChangePp: number | null;
  secondsWithoutSuccess: number;
  targets: typeof FIGURE_TARGETS;
}

/** Seconds in [from, to] in which the environment had requests but none succeeded. */
export async function secondsWithoutSuccess(prisma: PrismaClient, environmentId: string, from: Date, to: Date): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: bigint | number }[]>`
    SELECT COUNT(*) AS n FROM (
      SELECT "at" FROM "MetricSample"
      WHERE "environmentId" = ${environmentId} AND "at" >= ${from} AND "at" <= ${to}
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
  greenErrorRatePercent: number | null;
  baselineErrorRatePercent: number | null;
  secondsWithoutSuccess: number;
}): DeploymentFigures {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    durationSeconds: round((input.finishedAt.getTime() - input.startedAt.getTime()) / 1000),
    breachToRollbackSeconds: input.breachAt && input.rollbackCompletedAt ? round((input.rollbackCompletedAt.getTime() - input.breachAt.getTime()) / 1000) : null,
    errorRateChangePp:
      input.greenErrorRatePercent !== null && input.baselineErrorRatePercent !== null ? round(input.greenErrorRatePercent - input.baselineErrorRatePercent) : null,
    secondsWithoutSuccess: input.secondsWithoutSuccess,
    targets: FIGURE_TARGETS,
  };
}
