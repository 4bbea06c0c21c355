/**
 * The reconciler's scheduling rules, pure: which due pass starts first, how long a deployment waits
 * after a failed pass, which leases an instance keeps renewing, and how many deployments each
 * instance drives. The effectful shell is reconciler.ts (passes) and leases.ts (the lease rows).
 */

/** A pass's deadline unless the reconciler is told otherwise: no driver call holds a pass longer. */
export const DEFAULT_PASS_DEADLINE_MS = 30_000;

export interface DuePass {
  id: string;
  rollingBack: boolean;
  /** When the pass became due (epoch ms). */
  dueAt: number;
}

/**
 * The order in which due passes start: rollbacks first (they put traffic back on the live slot, and
 * must never queue behind a deployment that is only moving forward), then the longest-waiting.
 */
export function passOrder<T extends DuePass>(due: readonly T[]): T[] {
  return [...due].sort(
    (a, b) => Number(b.rollingBack) - Number(a.rollingBack) || a.dueAt - b.dueAt || a.id.localeCompare(b.id),
  );
}

/**
 * The wait after the `failures`-th consecutive failed pass: 250 ms doubling to 8 s, or to 2 s while
 * rolling back (a rollback retries sooner: the sooner it gets through, the sooner traffic is safe).
 * Jitter of ±25% keeps deployments that failed together (one AWS outage) from retrying in step.
 */
export function passBackoffMs(failures: number, rollingBack: boolean, random: () => number = Math.random): number {
  const cap = rollingBack ? 2_000 : 8_000;
  const base = Math.min(cap, 250 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * The wait before a deployment's next pass, as the planner asked, give or take 10 %. Deployments
 * claimed together would otherwise pass in step for ever: a hundred passes in the same few
 * milliseconds every second, and every request to the panel in that moment queued behind their
 * queries (`npm run bench -- overview`). Short waits (the last moments of a bake) stay exact.
 */
export function spreadWaitMs(waitMs: number, random: () => number = Math.random): number {
  if (waitMs < 100) return waitMs;
  return Math.round(waitMs * (0.9 + random() * 0.2));
}

/**
 * How long past its deadline a pass may still be running before it counts as stuck. A pass whose
 * calls honour the abort ends within milliseconds of it; timers fire late on a busy event loop, so
 * the margin is generous.
 */
export const STUCK_AFTER_DEADLINE_MS = 2_000;

/**
 * Whether a deployment's lease is renewed: only while its passes make progress, i.e. no pass is in
 * flight or the one in flight has not overrun its deadline. A pass stuck past it (a call that
 * ignores its abort signal) lets the lease lapse, so another instance can take over.
 */
export function leaseRenewable(passStartedAt: number | null, now: number, deadlineMs: number): boolean {
  return passStartedAt === null || now - passStartedAt < deadlineMs + STUCK_AFTER_DEADLINE_MS;
}

/**
 * How often an instance beats (heartbeat, renew, claim): every second, or three times within a lease
 * when the lease is shorter than three seconds. A lease, like a heartbeat, must be renewed before it runs out: a 0.8 s
 * lease renewed once a second lapsed for 0.2 s in every second, and another instance could take the
 * deployment in that gap although its owner was making progress.
 */
export function beatEveryMs(leaseMs: number): number {
  return Math.max(1, Math.min(1000, Math.floor(leaseMs / 3)));
}

/** Each live instance's fair share of the active deployments (at least one when any is active). */
export function fairShare(activeDeployments: number, liveInstances: number): number {
  if (activeDeployments <= 0) return 0;
  return Math.ceil(activeDeployments / Math.max(1, liveInstances));
}

export interface HeldLease {
  id: string;
  /** A pass for it is in flight (never handed over mid-pass). */
  running: boolean;
  /**
   * The target may still be acting on a change this instance asked for (deploying the new release:
   * the local target finishes starting a process in the background). Handing it over then could
   * let two instances start the release.
   */
  settling: boolean;
  rollingBack: boolean;
  /** When this instance claimed it (epoch ms). */
  claimedAt: number;
}

/**
 * Which held leases to hand back when an instance holds more than its share (another instance has
 * joined): idle, settled ones only, forward-moving before rollbacks, the most recently claimed first.
 */
export function leasesToHandBack(held: readonly HeldLease[], share: number): string[] {
  const excess = held.length - share;
  if (excess <= 0) return [];
  return held
    .filter((l) => !l.running && !l.settling)
    .sort(
      (a, b) => Number(a.rollingBack) - Number(b.rollingBack) || b.claimedAt - a.claimedAt || a.id.localeCompare(b.id),
    )
    .slice(0, excess)
    .map((l) => l.id);
}

/** The reason a pass is aborted at its deadline (the message people read on the deployment). */
export class PassDeadlineExceeded extends Error {
  constructor(readonly deadlineMs: number) {
    super(`the pass reached its ${formatSeconds(deadlineMs)} deadline`);
    this.name = "PassDeadlineExceeded";
  }
}

const formatSeconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
