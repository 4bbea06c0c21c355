/**
 * Throttling of password sign-ins. An attempt is reserved in the database before its password is
 * compared, and the reservation counts as a failure until the password proves right (then it is
 * deleted). Reservations are taken one at a time under a transaction-scoped advisory lock, so any
 * number of parallel attempts, on any number of panel instances, get at most `maxFailures` password
 * comparisons per window.
 *
 * Failures count per account and address together (a guesser is stopped at `maxFailures`), and per
 * address alone with a much higher limit (`maxFailuresPerAddress`): one address behind a proxy, or an
 * office's NAT, cannot lock everybody else out.
 */
import type { PrismaClient } from "../db/generated/client.ts";

export interface ThrottlePolicy {
  /** Failures allowed per account and address within the window. */
  maxFailures: number;
  /** Failures allowed per address, across accounts, within the window. */
  maxFailuresPerAddress: number;
  windowSeconds: number;
}

export type ThrottleDecision =
  { allowed: true } | { allowed: false; retryAfterSeconds: number; reason: "account" | "address" };

/** A reserved attempt: it counts as a failure until it is settled as a success (or released unused). */
export interface SignInAttempt {
  id: bigint;
  settled: boolean;
}

export type Reservation = { allowed: true; attempt: SignInAttempt } | Extract<ThrottleDecision, { allowed: false }>;

/** Pure rule: given the failure times in the window (any order), may another attempt go ahead? */
export function decideThrottle(
  failures: Date[],
  now: Date,
  limit: number,
  windowSeconds: number,
): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  const windowStart = now.getTime() - windowSeconds * 1000;
  const recent = failures
    .map((d) => d.getTime())
    .filter((t) => t > windowStart)
    .sort((a, b) => b - a);
  if (recent.length < limit) return { allowed: true };
  // The attempt may go ahead once the failure that keeps the count at the limit leaves the window.
  const blocking = recent[limit - 1]!;
  const retryAfterMs = blocking + windowSeconds * 1000 - now.getTime();
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
}

/** Pure rule: the account-and-address count decides first, then the address's own, higher limit. */
export function combineThrottle(pair: Date[], address: Date[], now: Date, policy: ThrottlePolicy): ThrottleDecision {
  const byPair = decideThrottle(pair, now, policy.maxFailures, policy.windowSeconds);
  const byAddress = decideThrottle(address, now, policy.maxFailuresPerAddress, policy.windowSeconds);
  if (!byPair.allowed && (byAddress.allowed || byPair.retryAfterSeconds >= byAddress.retryAfterSeconds))
    return { ...byPair, reason: "account" };
  if (!byAddress.allowed) return { ...byAddress, reason: "address" };
  return { allowed: true };
}

export function normaliseIdentifier(email: string): string {
  return email.trim().toLowerCase();
}

/** Serialises reservations across connections and instances (an arbitrary, fixed advisory-lock key). */
const RESERVATION_LOCK = 740_221_905;

/**
 * Reserves one attempt for `identifier` from `ip`, or says why not. Check and count are one step:
 * the count is read and the reservation written under the same lock.
 */
export async function reserveSignInAttempt(
  prisma: PrismaClient,
  attempt: { identifier: string; ip: string },
  policy: ThrottlePolicy,
  now = new Date(),
): Promise<Reservation> {
  const since = new Date(now.getTime() - policy.windowSeconds * 1000);
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RESERVATION_LOCK}::bigint)`;
    const address = await tx.signInFailure.findMany({
      where: { ip: attempt.ip, at: { gt: since } },
      select: { at: true, identifier: true },
    });
    const pair = address.filter((f) => f.identifier === attempt.identifier).map((f) => f.at);
    const decision = combineThrottle(
      pair,
      address.map((f) => f.at),
      now,
      policy,
    );
    if (!decision.allowed) return decision;
    const row = await tx.signInFailure.create({
      data: { identifier: attempt.identifier, ip: attempt.ip, at: now },
      select: { id: true },
    });
    return { allowed: true as const, attempt: { id: row.id, settled: false } };
  });
}

/** Gives back a reservation whose password was never compared (the request was refused before that). */
export async function releaseSignInAttempt(prisma: PrismaClient, attempt: SignInAttempt): Promise<void> {
  if (attempt.settled) return;
  attempt.settled = true;
  await prisma.signInFailure.deleteMany({ where: { id: attempt.id } });
}

/** Old failures are only needed for the window; prune them now and then. */
export async function pruneSignInFailures(
  prisma: PrismaClient,
  policy: ThrottlePolicy,
  now = new Date(),
): Promise<number> {
  const { count } = await prisma.signInFailure.deleteMany({
    where: { at: { lt: new Date(now.getTime() - policy.windowSeconds * 2000) } },
  });
  return count;
}
