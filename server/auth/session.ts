/**
 * Reading the signed-in user from a request. Sessions are next-auth JWTs in a cookie; the user's
 * current roles and status are read from the database on every request, so a role change or a
 * deactivation takes effect at once. A session older than SESSION_MAX_AGE since sign-in is refused
 * even if next-auth has rolled its cookie forward.
 */
import { parse as parseCookies } from "cookie";
import { decode } from "next-auth/jwt";
import type { PrismaClient } from "../db/generated/client.ts";
import type { Role } from "./roles.ts";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  roles: Role[];
}

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

export async function readSession(prisma: PrismaClient, cookieHeader: string | undefined, settings: SessionSettings, now = Date.now()): Promise<SessionUser | null> {
  const token = sessionTokenFromCookies(cookieHeader, settings.secureCookies);
  if (!token) return null;
  let payload: Record<string, unknown> | null;
  try {
    payload = (await decode({ token, secret: settings.secret })) as Record<string, unknown> | null;
  } catch {
    return null;
  }
  if (!payload || typeof payload.sub !== "string") return null;
  // Milliseconds since the epoch at sign-in (set by the jwt callback in options.ts).
  const authTime = typeof payload.authTime === "number" ? payload.authTime : 0;
  if (authTime + settings.maxAgeSeconds * 1000 < now) return null;
  const user = await prisma.user.findUnique({ where: { id: payload.sub } });
  if (!user || !user.active) return null;
  // A password reset or deactivation ends sessions issued before it.
  if (user.sessionsValidAfter && authTime < user.sessionsValidAfter.getTime()) return null;
  return { id: user.id, email: user.email, name: user.name, roles: user.roles as Role[] };
}
