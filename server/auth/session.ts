/**
 * Reading the signed-in user from a request. The cookie is a next-auth JWT naming a session row
 * (`UserSession`), which sign-out and a change of one's own password end: a copy of the cookie stops
 * working at once. The user's current roles and status are read with the session on every request,
 * so a role change or a deactivation takes effect at once too. A session older than SESSION_MAX_AGE
 * since sign-in is refused even if next-auth has rolled its cookie forward.
 */
import { LRUCache } from "lru-cache";
import { parse as parseCookies } from "cookie";
import { decode } from "next-auth/jwt";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import type { Role } from "./roles.ts";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  /** The UserSession row this request was made in. */
  sessionId: string;
  /** When that session ends by itself (SESSION_MAX_AGE after sign-in). */
  sessionExpiresAt: Date;
}

export type SessionEndReason = "signed_out" | "password_changed";

export function sessionCookieName(secure: boolean): string {
  return secure ? "__Secure-next-auth.session-token" : "next-auth.session-token";
}

export interface SessionSettings {
  secret: string;
  maxAgeSeconds: number;
  secureCookies: boolean;
}

/** next-auth splits large tokens over `name.0`, `name.1`, …; ours are small, but read either form. */
export function sessionTokenFromCookies(cookieHeader: string | undefined, secure: boolean): string | undefined {
  if (!cookieHeader) return undefined;
  const cookies = parseCookies(cookieHeader);
  const name = sessionCookieName(secure);
  if (cookies[name]) return cookies[name];
  const chunks = Object.keys(cookies)
    .filter((key) => key.startsWith(`${name}.`))
    .sort((a, b) => Number(a.slice(name.length + 1)) - Number(b.slice(name.length + 1)));
  return chunks.length > 0 ? chunks.map((key) => cookies[key]).join("") : undefined;
}

export async function readSession(
  prisma: PrismaClient,
  cookieHeader: string | undefined,
  settings: SessionSettings,
  now = Date.now(),
): Promise<SessionUser | null> {
  const token = sessionTokenFromCookies(cookieHeader, settings.secureCookies);
  if (!token) return null;
  const payload = await decodeSessionToken(token, settings.secret, now);
  if (!payload || typeof payload.sub !== "string" || typeof payload.sid !== "string") return null;
  // Milliseconds since the epoch at sign-in (set by the jwt callback in options.ts).
  const authTime = typeof payload.authTime === "number" ? payload.authTime : 0;
  const expiresAt = authTime + settings.maxAgeSeconds * 1000;
  if (expiresAt < now) return null;
  // One statement for the session and its user: it runs on every request.
  const [row] = await prisma.$queryRaw<SessionRow[]>`
    SELECT s."id", s."userId", s."endedAt", s."expiresAt",
           u."email", u."name", u."roles"::text[] AS "roles", u."active", u."sessionsValidAfter"
    FROM "UserSession" s JOIN "User" u ON u."id" = s."userId"
    WHERE s."id" = ${payload.sid}`;
  if (!row || row.userId !== payload.sub || row.endedAt !== null || row.expiresAt.getTime() < now) return null;
  if (!row.active) return null;
  // A password reset or deactivation ends sessions issued before it.
  if (row.sessionsValidAfter && authTime < row.sessionsValidAfter.getTime()) return null;
  return {
    id: row.userId,
    email: row.email,
    name: row.name,
    roles: row.roles,
    sessionId: row.id,
    sessionExpiresAt: new Date(Math.min(expiresAt, row.expiresAt.getTime())),
  };
}

interface SessionRow {
  id: string;
  userId: string;
  endedAt: Date | null;
  expiresAt: Date;
  email: string;
  name: string;
  roles: Role[];
  active: boolean;
  sessionsValidAfter: Date | null;
}

/**
 * Decrypting a cookie derives its key (HKDF) and decrypts it on every request: a tab refreshing
 * every few seconds sends the same cookie each time, so a decrypted cookie is kept until it expires.
 * Only what decrypted is kept (a forged cookie costs the attacker what it costs us); the session row is
 * still read on every request, so sign-out and role changes take effect at once.
 */
const decodedTokens = new LRUCache<string, { secret: string; payload: Record<string, unknown> }>({ max: 2000 });
/** next-auth's decode allows 15 s of clock skew on `exp`; a kept token is held to the same. */
const EXPIRY_TOLERANCE_MS = 15_000;

async function decodeSessionToken(token: string, secret: string, now: number): Promise<Record<string, unknown> | null> {
  const kept = decodedTokens.get(token);
  if (kept && kept.secret === secret) {
    if ((kept.payload.exp as number) * 1000 + EXPIRY_TOLERANCE_MS >= now) return kept.payload;
    decodedTokens.delete(token);
    return null;
  }
  let payload: Record<string, unknown> | null;
  try {
    payload = await decode({ token, secret });
  } catch {
    return null;
  }
  if (!payload) return null;
  if (typeof payload.exp !== "number") return payload;
  decodedTokens.set(token, { secret, payload });
  return payload;
}

/** Starts the session a sign-in creates; its id goes into the cookie. */
export async function startSession(
  prisma: PrismaClient,
  input: { userId: string; ip: string; maxAgeSeconds: number; now?: number },
): Promise<{ id: string; expiresAt: Date }> {
  const expiresAt = new Date((input.now ?? Date.now()) + input.maxAgeSeconds * 1000);
  return prisma.userSession.create({
    data: { userId: input.userId, ip: input.ip, expiresAt },
    select: { id: true, expiresAt: true },
  });
}

/**
 * Ends the user's live sessions, all of them or all but one (inside the caller's transaction, so the
 * change that ends them and its audit event commit together). The number ended.
 */
export async function endSessions(
  tx: Prisma.TransactionClient,
  where: { sessionId: string } | { userId: string; exceptSessionId?: string },
  reason: SessionEndReason,
  now = new Date(),
): Promise<number> {
  const selector =
    "sessionId" in where
      ? { id: where.sessionId }
      : { userId: where.userId, ...(where.exceptSessionId ? { id: { not: where.exceptSessionId } } : {}) };
  const { count } = await tx.userSession.updateMany({
    where: { ...selector, endedAt: null },
    data: { endedAt: now, endReason: reason },
  });
  return count;
}

/** Session rows past their expiry are of no use to anyone: removed now and then. */
export async function pruneSessions(prisma: PrismaClient, now = new Date()): Promise<number> {
  const { count } = await prisma.userSession.deleteMany({ where: { expiresAt: { lt: now } } });
  return count;
}
