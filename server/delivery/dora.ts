/**
 * Delivery metrics (the four DORA keys) as pure functions of deployments and emergencies:
 *
 * - deployment frequency: successful deployments per day;
 * - lead time for changes: from the release's commit to the deployment that made it live (median);
 * - change failure rate: of the changes that reached users (succeeded or rolled back), the share
 *   that was rolled back or followed by an emergency covering its environment within 24 hours;
 * - time to restore: from a failed deployment (rolled back or failed: from the breach, or its end)
 *   or an emergency to the next successful deployment in an environment it concerns (median).
 *
 * A period is [from, to). Events are counted in the period they happen in; a restore may come later.
 */

export interface DeploymentFact {
  environmentId: string;
  serviceId: string;
  status: "succeeded" | "rolled_back" | "failed" | "aborted";
  finishedAt: Date;
  /** When a gate breached (rolled back deployments), else null. */
  breachAt: Date | null;
  /** When the release's commit was made, if the release says. */
  commitAt: Date | null;
}

export interface EmergencyFact {
  /** Null with a service: the whole service; null with neither: everything. */
  environmentId: string | null;
  serviceId: string | null;
  at: Date;
}

export interface Period {
  from: Date;
  to: Date;
}

export interface DeliveryFigures {
  /** Successful deployments in the period. */
  deployments: number;
  deploymentsPerDay: number;
  leadTimeSeconds: number | null;
  leadTimeSamples: number;
  /** 0–1, null without changes. */
  changeFailureRate: number | null;
  changes: number;
  failedChanges: number;
  timeToRestoreSeconds: number | null;
  restored: number;
  /** Failures in the period with no success after them yet. */
  unrestored: number;
}

export const EMERGENCY_FOLLOW_UP_MS = 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const within = (at: Date, period: Period) =>
  at.getTime() >= period.from.getTime() && at.getTime() < period.to.getTime();

/** Whether an emergency concerns an environment (of a service). */
export function covers(emergency: EmergencyFact, environment: { environmentId: string; serviceId: string }): boolean {
  if (emergency.environmentId !== null) return emergency.environmentId === environment.environmentId;
  return emergency.serviceId === null || emergency.serviceId === environment.serviceId;
}

export function deploymentFrequency(
  deployments: readonly DeploymentFact[],
  period: Period,
): { deployments: number; perDay: number } {
  const count = deployments.filter((d) => d.status === "succeeded" && within(d.finishedAt, period)).length;
  const days = (period.to.getTime() - period.from.getTime()) / DAY_MS;
  return { deployments: count, perDay: days > 0 ? count / days : 0 };
}

export function leadTimeForChanges(
  deployments: readonly DeploymentFact[],
  period: Period,
): { medianSeconds: number | null; samples: number } {
  const seconds = deployments
    .filter((d) => d.status === "succeeded" && d.commitAt !== null && within(d.finishedAt, period))
    .map((d) => Math.max(0, (d.finishedAt.getTime() - d.commitAt!.getTime()) / 1000));
  return { medianSeconds: median(seconds), samples: seconds.length };
}

export function changeFailureRate(
  deployments: readonly DeploymentFact[],
  emergencies: readonly EmergencyFact[],
  period: Period,
): { rate: number | null; changes: number; failed: number } {
  const changes = deployments.filter(
    (d) => (d.status === "succeeded" || d.status === "rolled_back") && within(d.finishedAt, period),
  );
  const failed = changes.filter(
    (d) =>
      d.status === "rolled_back" ||
      emergencies.some(
        (e) =>
          covers(e, d) &&
          e.at.getTime() > d.finishedAt.getTime() &&
          e.at.getTime() <= d.finishedAt.getTime() + EMERGENCY_FOLLOW_UP_MS,
      ),
  ).length;
  return { rate: changes.length ? failed / changes.length : null, changes: changes.length, failed };
}

export function timeToRestore(
  deployments: readonly DeploymentFact[],
  emergencies: readonly EmergencyFact[],
  period: Period,
): { medianSeconds: number | null; restored: number; unrestored: number } {
  const successes = deployments
    .filter((d) => d.status === "succeeded")
    .sort((a, b) => a.finishedAt.getTime() - b.finishedAt.getTime());
  const failures: { at: Date; concerns: (d: DeploymentFact) => boolean }[] = [
    ...deployments
      .filter((d) => d.status === "rolled_back" || d.status === "failed")
      .map((d) => ({
        at: d.breachAt ?? d.finishedAt,
        concerns: (s: DeploymentFact) => s.environmentId === d.environmentId,
      })),
    ...emergencies.map((e) => ({ at: e.at, concerns: (s: DeploymentFact) => covers(e, s) })),
  ].filter((f) => within(f.at, period));
  const seconds: number[] = [];
  let unrestored = 0;
  for (const failure of failures) {
    const next = successes.find((s) => s.finishedAt.getTime() > failure.at.getTime() && failure.concerns(s));
    if (next) seconds.push((next.finishedAt.getTime() - failure.at.getTime()) / 1000);
    else unrestored++;
  }
  return { medianSeconds: median(seconds), restored: seconds.length, unrestored };
}

export function deliveryFigures(
  deployments: readonly DeploymentFact[],
  emergencies: readonly EmergencyFact[],
  period: Period,
): DeliveryFigures {
  const frequency = deploymentFrequency(deployments, period);
  const lead = leadTimeForChanges(deployments, period);
  const failure = changeFailureRate(deployments, emergencies, period);
  const restore = timeToRestore(deployments, emergencies, period);
  return {
    deployments: frequency.deployments,
    deploymentsPerDay: frequency.perDay,
    leadTimeSeconds: lead.medianSeconds,
    leadTimeSamples: lead.samples,
    changeFailureRate: failure.rate,
    changes: failure.changes,
    failedChanges: failure.failed,
    timeToRestoreSeconds: restore.medianSeconds,
    restored: restore.restored,
    unrestored: restore.unrestored,
  };
}

/** The period before, of the same length: what the trend compares with. */
export function previousPeriod(period: Period): Period {
  const length = period.to.getTime() - period.from.getTime();
  return { from: new Date(period.from.getTime() - length), to: period.from };
}

/** The period cut into `count` equal slices, oldest first. */
export function slices(period: Period, count: number): Period[] {
  const length = (period.to.getTime() - period.from.getTime()) / count;
  return Array.from({ length: count }, (_, i) => ({
    from: new Date(period.from.getTime() + i * length),
    to: new Date(period.from.getTime() + (i + 1) * length),
  }));
}

export interface ScopeMetrics {
  current: DeliveryFigures;
  previous: DeliveryFigures;
  /** The current period in slices, oldest first, for a trend line. */
  series: { from: Date; to: Date; figures: DeliveryFigures }[];
}

export function scopeMetrics(
  deployments: readonly DeploymentFact[],
  emergencies: readonly EmergencyFact[],
  period: Period,
  sliceCount: number,
): ScopeMetrics {
  return {
    current: deliveryFigures(deployments, emergencies, period),
    previous: deliveryFigures(deployments, emergencies, previousPeriod(period)),
    series: slices(period, sliceCount).map((slice) => ({
      ...slice,
      figures: deliveryFigures(deployments, emergencies, slice),
    })),
  };
}

export type Direction = "better" | "worse" | "same" | null;

/** Whether a figure moved the good way: more deployments is better; longer, or more failures, is worse. */
export function trendOf(
  metric: "deploymentsPerDay" | "leadTimeSeconds" | "changeFailureRate" | "timeToRestoreSeconds",
  current: number | null,
  previous: number | null,
): Direction {
  if (current === null || previous === null) return null;
  if (current === previous) return "same";
  const higherIsBetter = metric === "deploymentsPerDay";
  return current > previous === higherIsBetter ? "better" : "worse";
}
