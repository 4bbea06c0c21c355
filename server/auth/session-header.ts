/**
 * The custom server tells Next.js pages who is signed in through one request header. The server
 * removes any copy a client sent before setting it, so pages can trust it. Pure; imported by both.
 */
import { isRole, type Role } from "./roles.ts";

export const SESSION_HEADER = "x-greenlight-session";

export interface PageSession {
  id: string;
  email: string;
  name: string;
  roles: Role[];
}

export function encodeSessionHeader(user: PageSession): string {
  return Buffer.from(
    JSON.stringify({ id: user.id, email: user.email, name: user.name, roles: user.roles }),
    "utf8",
  ).toString("base64url");
}

export function decodeSessionHeader(value: string | null | undefined): PageSession | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as Partial<PageSession>;
    if (typeof parsed.id !== "string" || typeof parsed.email !== "string" || !Array.isArray(parsed.roles)) return null;
    return {
      id: parsed.id,
      email: parsed.email,
      name: String(parsed.name ?? parsed.email),
      roles: parsed.roles.filter(isRole),
    };
  } catch {
    return null;
  }
}
