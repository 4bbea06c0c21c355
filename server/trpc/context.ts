/**
 * What every procedure receives: the panel's services, the caller (or null), and where the call
 * came from, for audit events.
 */
import type { Actor } from "../audit/actor.ts";
import type { SessionUser } from "../auth/session.ts";
import type { Services } from "../services.ts";

export interface Context {
  services: Services;
  user: SessionUser | null;
  ip: string;
  traceId: string;
}

export function actorFor(ctx: Context): Actor {
  return {
    userId: ctx.user?.id ?? null,
    email: ctx.user?.email ?? null,
    roles: ctx.user ? [...ctx.user.roles] : [],
    ip: ctx.ip,
    traceId: ctx.traceId,
  };
}
