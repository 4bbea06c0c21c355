/**
 * People's accounts in a running panel: what the domain decides (auth/users.ts), then what open
 * sockets must follow at once. A deactivated user's sockets are closed, a demoted user's leave the rooms
 * of roles they no longer hold (security alerts, user changes), a reset or changed password ends the
 * other sessions' sockets, and the administrators' user list refetches.
 */
import type { z } from "zod";
import type { Actor, UserActor } from "./audit/actor.ts";
import {
  changeOwnPassword,
  createUser,
  resetPassword,
  updateUser,
  type changePasswordInput,
  type createUserInput,
  type updateUserInput,
} from "./auth/users.ts";
import type { Services } from "./services.ts";

export async function createUserInPanel(services: Services, actor: Actor, input: z.infer<typeof createUserInput>) {
  const result = await createUser(services.prisma, actor, input, services.config.auth.bcryptCost);
  services.events.usersChanged();
  return result;
}

export async function updateUserInPanel(services: Services, actor: Actor, input: z.infer<typeof updateUserInput>) {
  const user = await updateUser(services.prisma, actor, input);
  if (user.active) services.events.rolesChanged(user.id, user.roles);
  else services.events.sessionsEnded({ userId: user.id });
  services.events.usersChanged();
  return user;
}

export async function resetPasswordInPanel(services: Services, actor: Actor, userId: string) {
  const result = await resetPassword(services.prisma, actor, userId, services.config.auth.bcryptCost);
  services.events.sessionsEnded({ userId });
  services.events.usersChanged();
  return result;
}

/** The caller's own password: every other session of theirs ends; this one stays. */
export async function changeOwnPasswordInPanel(
  services: Services,
  actor: UserActor & { sessionId: string },
  input: z.infer<typeof changePasswordInput>,
) {
  const result = await changeOwnPassword(services.prisma, actor, input, services.config.auth.bcryptCost);
  services.events.sessionsEnded({ userId: actor.userId, exceptSessionId: actor.sessionId });
  return result;
}
