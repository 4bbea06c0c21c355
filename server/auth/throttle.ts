/**
 * Throttling of failed sign-ins: after `maxFailures` failures within the window for one account or
 * one address, further attempts are refused (HTTP 429) until enough failures age out of the window.
 * Failures are stored in the database so every panel instance sees the same count.
 */
import type { PrismaClient } from "../db/generated/client.ts";

export interface ThrottlePolicy {
  maxFailures: number;
  windowSeconds: number;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number; reason: "account" | "address" };

/** Pure rule: given the failure times in the window (any order), may another attempt go ahead? */
export function decideThrottle(failures: Date[], now: Date, policy: ThrottlePolicy): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  const windowStart = now.getTime() - policy.windowSeconds * 1000;
  const recent = failures.map((d) => d.getTime()).filter((t) => t > windowStart).sort((a, b) => b - a);
  if (recent.length < policy.maxFailures) return { allowed: true };
  // The attempt may go ahead once the failure that keeps the count at the limit leaves the window.
  const blocking = recent[policy.maxFailures - 1]!;
  const retryAfterMs = blocking + policy.windowSeconds * 1000 - now.getTime();
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
}

export function normaliseIdentifier(email: string): string {
  return email.trim().toLowerCase();
}

export async function checkSignInThrottle(
  prisma: PrismaClient,
  attempt: { identifier: string; ip: string },
  policy: ThrottlePolicy,
  now = new Date(),
): Promise<ThrottleDecision> {
  const since = new Date(now.getTime() - policy.windowSeconds * 1000);
  const [byAccount, byAddress] = await Promise.all([
    prisma.signInFailure.findMany({ where: { identifier: attempt.identifier, at: { gt: since } }, select: { at: true } }),
    prisma.signInFailure.findMany({ where: { ip: attempt.ip, at: { gt: since } }, select: { at: true } }),
  ]);
  const account = decideThrottle(byAccount.map((r) => r.at), now, policy);
  const address = decideThrottle(byAddress.map((r) => r.at), now, policy);
  if (!account.allowed && (address.allowed || account.retryAfterSeconds >= address.retryAfterSeconds)) return { ...account, reason: "account" };
  if (!address.allowed) return { ...address, reason: "address" };
  return { allowed: true };
}

/** Old failures are only needed for the window; prune them now and then. */
export async function pruneSignInFailures(prisma: PrismaClient, policy: ThrottlePolicy, now = new Date()): Promise<number> {
  const { count } = await prisma.signInFailure.deleteMany({ where: { at: { lt: new Date(now.getTime() - policy.windowSeconds * 2000) } } });
  return count;
}
