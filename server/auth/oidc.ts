/**
 * Optional single sign-on through an OpenID Connect provider. Groups in the ID token (claim
 * OIDC_GROUPS_CLAIM) are mapped to roles through OIDC_ROLE_MAP at every sign-in: for these users the
 * identity provider is the source of truth for roles.
 */
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient, User } from "../db/generated/client.ts";
import type { Role } from "./roles.ts";

/** Roles for a set of groups; a user in no mapped group may look, nothing more. */
export function rolesForGroups(groups: unknown, roleMap: Record<string, Role[]>): Role[] {
  const list = Array.isArray(groups)
    ? groups.filter((g): g is string => typeof g === "string")
    : typeof groups === "string"
      ? [groups]
      : [];
  const roles = new Set<Role>();
  for (const group of list) for (const role of roleMap[group] ?? []) roles.add(role);
  return roles.size > 0 ? [...roles].sort() : ["viewer"];
}

export interface OidcProfile {
  sub: string;
  email: string;
  name: string;
  groups: unknown;
}

/** Creates or updates the user behind an OIDC sign-in. Returns null when the user is deactivated. */
export async function signInOidcUser(
  prisma: PrismaClient,
  profile: OidcProfile,
  roleMap: Record<string, Role[]>,
  request: { ip: string; traceId: string },
): Promise<User | null> {
  const roles = rolesForGroups(profile.groups, roleMap);
  const email = profile.email.trim().toLowerCase();
  return prisma.$transaction(async (tx) => {
    const existing =
      (await tx.user.findUnique({ where: { externalId: profile.sub } })) ??
      (await tx.user.findUnique({ where: { email } }));
    const actor: Actor = { userId: existing?.id ?? null, email, roles, ip: request.ip, traceId: request.traceId };
    if (existing && !existing.active) {
      await recordAudit(tx, actor, {
        action: "auth.signin_failed",
        entityType: "User",
        entityId: existing.id,
        after: { email, reason: "inactive", provider: "oidc" },
      });
      return null;
    }
    let user: User;
    if (!existing) {
      user = await tx.user.create({
        data: {
          email,
          name: profile.name || email,
          roles,
          provider: "oidc",
          externalId: profile.sub,
          lastSignInAt: new Date(),
        },
      });
      await recordAudit(
        tx,
        { ...actor, userId: user.id },
        {
          action: "user.created",
          entityType: "User",
          entityId: user.id,
          after: { email, name: user.name, roles, provider: "oidc" },
        },
      );
    } else {
      user = await tx.user.update({
        where: { id: existing.id },
        data: { roles, provider: "oidc", externalId: profile.sub, lastSignInAt: new Date() },
      });
      if (existing.roles.join() !== roles.join()) {
        await recordAudit(tx, actor, {
          action: "user.roles_changed",
          entityType: "User",
          entityId: user.id,
          before: { roles: existing.roles },
          after: { roles, source: "identity provider groups" },
        });
      }
    }
    await recordAudit(
      tx,
      { ...actor, userId: user.id },
      { action: "auth.signed_in", entityType: "User", entityId: user.id, after: { email, provider: "oidc" } },
    );
    return user;
  });
}
