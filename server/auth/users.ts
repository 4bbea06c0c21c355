/**
 * People and their roles: creating users, changing roles, deactivating, resetting passwords.
 * Every change is audited in the same transaction. Snapshots never include password hashes.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient, User } from "../db/generated/client.ts";
import { conflict, invalid, notFound, preconditionFailed } from "../errors.ts";
import { generatePassword, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "./passwords.ts";
import { ROLES, type Role } from "./roles.ts";
import { endSessions } from "./session.ts";

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: "must be a valid e-mail address" }));
export const nameSchema = z.string().trim().min(1, "must not be empty").max(120, "must be at most 120 characters");
export const rolesSchema = z
  .array(z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` }))
  .min(1, "must contain at least one role")
  .transform((roles) => [...new Set(roles)]);

export const createUserInput = z.object({ email: emailSchema, name: nameSchema, roles: rolesSchema });
export const updateUserInput = z
  .object({
    id: z.string().uuid("must be a user id"),
    name: nameSchema.optional(),
    roles: rolesSchema.optional(),
    active: z.boolean().optional(),
  })
  .refine((v) => v.name !== undefined || v.roles !== undefined || v.active !== undefined, {
    message: "nothing to change: give name, roles or active",
    path: ["id"],
  });
export const changePasswordInput = z.object({
  currentPassword: z.string().min(1, "must not be empty"),
  newPassword: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(200, "must be at most 200 characters"),
});

export type PublicUser = Pick<User, "id" | "email" | "name" | "active" | "provider" | "createdAt" | "lastSignInAt"> & {
  roles: Role[];
};

export function publicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.roles,
    active: user.active,
    provider: user.provider,
    createdAt: user.createdAt,
    lastSignInAt: user.lastSignInAt,
  };
}

/** The audit snapshot of a user: what changed, never a secret. */
function snapshot(user: User) {
  return { email: user.email, name: user.name, roles: user.roles, active: user.active, provider: user.provider };
}

export async function listUsers(prisma: PrismaClient): Promise<PublicUser[]> {
  const users = await prisma.user.findMany({ orderBy: [{ active: "desc" }, { email: "asc" }] });
  return users.map(publicUser);
}

export async function createUser(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof createUserInput>,
  bcryptCost: number,
): Promise<{ user: PublicUser; initialPassword: string }> {
  const initialPassword = generatePassword();
  const passwordHash = await hashPassword(initialPassword, bcryptCost);
  const user = await prisma.$transaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email: input.email } }))
      throw conflict(`A user with the email address ${input.email} already exists`, "email");
    const created = await tx.user.create({
      data: { email: input.email, name: input.name, roles: input.roles, passwordHash },
    });
    await recordAudit(tx, actor, {
      action: "user.created",
      entityType: "User",
      entityId: created.id,
      after: snapshot(created),
    });
    return created;
  });
  return { user: publicUser(user), initialPassword };
}

export async function updateUser(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof updateUserInput>,
): Promise<PublicUser> {
  const user = await prisma.$transaction(async (tx) => {
    const before = await tx.user.findUnique({ where: { id: input.id } });
    if (!before) throw notFound(`User ${input.id}`);
    const roles = input.roles ?? before.roles;
    const active = input.active ?? before.active;
    const losesAdmin = before.active && before.roles.includes("admin") && (!active || !roles.includes("admin"));
    if (losesAdmin) {
      // Serialise every change that can remove an administrator, so two admins demoting each
      // other at the same moment cannot leave the panel with none.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('greenlight:last-admin'))`;
      const otherAdmins = await tx.user.count({
        where: { id: { not: before.id }, active: true, roles: { has: "admin" } },
      });
      if (otherAdmins === 0)
        throw input.active === false
          ? preconditionFailed(
              `${before.email} is the last active administrator and cannot be deactivated; make someone else an administrator first`,
              "active",
            )
          : preconditionFailed(
              `${before.email} is the last active administrator and must keep the administrator role; make someone else an administrator first`,
              "roles",
            );
    }
    const after = await tx.user.update({
      where: { id: input.id },
      data: {
        name: input.name,
        roles: input.roles,
        active: input.active,
        // Deactivation ends the user's sessions at once, not when they expire.
        sessionsValidAfter: input.active === false && before.active ? new Date() : undefined,
      },
    });
    const action =
      input.roles && input.roles.join() !== before.roles.join()
        ? "user.roles_changed"
        : input.active !== undefined && input.active !== before.active
          ? input.active
            ? "user.activated"
            : "user.deactivated"
          : "user.updated";
    await recordAudit(tx, actor, {
      action,
      entityType: "User",
      entityId: after.id,
      before: snapshot(before),
      after: snapshot(after),
    });
    return after;
  });
  return publicUser(user);
}

export async function resetPassword(
  prisma: PrismaClient,
  actor: Actor,
  userId: string,
  bcryptCost: number,
): Promise<{ user: PublicUser; newPassword: string }> {
  const newPassword = generatePassword();
  const passwordHash = await hashPassword(newPassword, bcryptCost);
  const user = await prisma.$transaction(async (tx) => {
    const before = await tx.user.findUnique({ where: { id: userId } });
    if (!before) throw notFound(`User ${userId}`);
    if (before.provider !== "credentials")
      throw invalid("id", `${before.email} signs in through the identity provider and has no password here`);
    const after = await tx.user.update({
      where: { id: userId },
      data: { passwordHash, sessionsValidAfter: new Date() },
    });
    await recordAudit(tx, actor, {
      action: "user.password_reset",
      entityType: "User",
      entityId: userId,
      after: { email: after.email },
    });
    return after;
  });
  return { user: publicUser(user), newPassword };
}

/** Changes the caller's password and ends their other sessions (the one they are in goes on). */
export async function changeOwnPassword(
  prisma: PrismaClient,
  actor: Actor & { userId: string; sessionId: string },
  input: z.infer<typeof changePasswordInput>,
  bcryptCost: number,
): Promise<{ endedSessions: number }> {
  const user = await prisma.user.findUnique({ where: { id: actor.userId } });
  if (!user) throw notFound("Your user");
  if (!user.passwordHash || !(await verifyPassword(input.currentPassword, user.passwordHash)))
    throw invalid("currentPassword", "The current password you gave is not your password");
  if (input.currentPassword === input.newPassword)
    throw invalid("newPassword", "The new password must differ from the current password");
  const passwordHash = await hashPassword(input.newPassword, bcryptCost);
  return prisma.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    const endedSessions = await endSessions(
      tx,
      { userId: user.id, exceptSessionId: actor.sessionId },
      "password_changed",
    );
    await recordAudit(tx, actor, {
      action: "user.password_changed",
      entityType: "User",
      entityId: user.id,
      after: { email: user.email, endedSessions },
    });
    return { endedSessions };
  });
}
