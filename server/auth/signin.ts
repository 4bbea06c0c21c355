/**
 * Checking a password sign-in and recording its outcome: a failure is stored for throttling (the
 * attempt reserved before the comparison stays as the failure) and audited; a success deletes the
 * reservation, stamps the user's last sign-in and is audited — each in one transaction.
 */
import { randomUUID } from "node:crypto";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient, User } from "../db/generated/client.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { normaliseIdentifier, type SignInAttempt } from "./throttle.ts";

export type SignInFailureReason = "unknown_account" | "wrong_password" | "inactive" | "no_password";

// Compared against when the account does not exist, so a miss costs the same time as a wrong password
// (made at the configured cost, the cost of the accounts' own hashes).
const dummyHashes = new Map<number, Promise<string>>();
function dummyHash(bcryptCost: number): Promise<string> {
  let hash = dummyHashes.get(bcryptCost);
  if (!hash) dummyHashes.set(bcryptCost, (hash = hashPassword(randomUUID(), bcryptCost)));
  return hash;
}

export async function authenticateWithPassword(
  prisma: PrismaClient,
  credentials: { email: string; password: string },
  request: { ip: string; traceId: string; attempt?: SignInAttempt },
  bcryptCost: number,
): Promise<{ ok: true; user: User } | { ok: false; reason: SignInFailureReason }> {
  const identifier = normaliseIdentifier(credentials.email);
  const user = identifier ? await prisma.user.findUnique({ where: { email: identifier } }) : null;
  const passwordOk = await verifyPassword(credentials.password, user?.passwordHash ?? (await dummyHash(bcryptCost)));
  const reason: SignInFailureReason | null = !user
    ? "unknown_account"
    : !user.passwordHash
      ? "no_password"
      : !passwordOk
        ? "wrong_password"
        : !user.active
          ? "inactive"
          : null;
  const actor: Actor = {
    userId: user?.id ?? null,
    email: identifier || null,
    roles: user ? [...user.roles] : [],
    ip: request.ip,
    traceId: request.traceId,
  };
  const attempt = request.attempt;
  if (attempt) attempt.settled = true;
  if (reason || !user) {
    await prisma.$transaction(async (tx) => {
      // The reservation taken before the comparison is the failure; without one, record it now.
      if (!attempt) await tx.signInFailure.create({ data: { identifier, ip: request.ip } });
      await recordAudit(tx, actor, {
        action: "auth.signin_failed",
        entityType: "User",
        entityId: user?.id ?? null,
        after: { email: identifier, reason: reason ?? "unknown_account", provider: "credentials" },
      });
    });
    return { ok: false, reason: reason ?? "unknown_account" };
  }
  const signedIn = await prisma.$transaction(async (tx) => {
    if (attempt) await tx.signInFailure.deleteMany({ where: { id: attempt.id } });
    const updated = await tx.user.update({ where: { id: user.id }, data: { lastSignInAt: new Date() } });
    await recordAudit(tx, actor, {
      action: "auth.signed_in",
      entityType: "User",
      entityId: user.id,
      after: { email: user.email, provider: "credentials" },
    });
    return updated;
  });
  return { ok: true, user: signedIn };
}
