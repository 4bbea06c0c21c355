import type { Role } from "../roles.ts";

/** Who did something, from where: stamped on every audit event. */
export interface Actor {
  userId: string | null;
  email: string | null;
  roles: string[];
  ip: string | null;
  traceId: string | null;
}

/** A signed-in person with their roles: what every procedure behind a role check acts as (`ctx.actor`). */
export interface UserActor extends Actor {
  userId: string;
  email: string;
  roles: Role[];
}

/** The panel itself (start-up, the reconciler, scheduled jobs). */
export function systemActor(traceId: string | null = null): Actor {
  return { userId: null, email: "system", roles: [], ip: null, traceId };
}
