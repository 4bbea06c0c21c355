/**
 * What every procedure receives: the panel's services, the caller (or null), and where the call
 * came from, for audit events.
 */
import type { Actor, UserActor } from "../audit/actor.ts";
import type { SessionUser } from "../auth/session.ts";
import type { Services } from "../services.ts";

export interface Context {
  services: Services;
  user: SessionUser | null;
  ip: string;
  traceId: string;
}

/** The signed-in caller as an actor: the user's id, e-mail and roles, and where the call came from. */
export function userActorFor(ctx: Context, user: SessionUser): UserActor {
  return { userId: user.id, email: user.email, roles: [...user.roles], ip: ctx.ip, traceId: ctx.traceId };
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
