/**
 * What an API token may do, and the rule that decides whether one may be used for a request.
 * Pure: the effectful shell is tokens.ts.
 */
import { z } from "zod";

export const SCOPES = ["releases:write", "deployments:write", "evidence:write", "read"] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_LABELS: Record<Scope, string> = {
  "releases:write": "create releases",
  "deployments:write": "start deployments",
  "evidence:write": "post checklist evidence",
  read: "read services, releases and deployments",
};

export const scopeSchema = z.enum(SCOPES, { error: `must be one of ${SCOPES.join(", ")}` });

/** The stored token as the rule needs it. */
export interface StoredToken {
  name: string;
  serviceId: string;
  scopes: readonly string[];
  revokedAt: Date | null;
  expiresAt: Date | null;
}

export type TokenVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/**
 * Whether a presented token may be used for a request about a service that needs a scope.
 * Who you are is settled first (401: no token, unknown, revoked, expired), then what you may do
 * (403: another service, a scope the token lacks).
 */
/**
 * `need.serviceId` is null when the request names something that does not exist: a valid token is
 * then let through, for the caller to answer 404.
 */
export function judgeToken(
  presented: string | null,
  stored: StoredToken | null,
  need: { serviceId: string | null; scope: Scope },
  now: Date,
): TokenVerdict {
  if (!presented) return { ok: false, status: 401, reason: "an API token is required (Authorization: Bearer <token>)" };
  if (!stored) return { ok: false, status: 401, reason: "the API token is not valid" };
  if (stored.revokedAt) return { ok: false, status: 401, reason: `the API token "${stored.name}" was revoked` };
  if (stored.expiresAt && stored.expiresAt.getTime() <= now.getTime())
    return {
      ok: false,
      status: 401,
      reason: `the API token "${stored.name}" expired on ${stored.expiresAt.toISOString()}`,
    };
  if (need.serviceId !== null && stored.serviceId !== need.serviceId)
    return { ok: false, status: 403, reason: `the API token "${stored.name}" belongs to another service` };
  if (!stored.scopes.includes(need.scope)) {
    return {
      ok: false,
      status: 403,
      reason: `the API token "${stored.name}" lacks the scope ${need.scope} (to ${SCOPE_LABELS[need.scope]}); it has ${stored.scopes.join(", ") || "no scopes"}`,
    };
  }
  return { ok: true };
}
