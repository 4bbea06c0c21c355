/**
 * Who may call what: the one place that decides. Every tRPC procedure has an entry, keyed by its
 * path; the procedure builder (server/trpc/init.ts) enforces it on the server for every call, and
 * test/integration/permissions.test.ts fails if a procedure has no entry or the table is not enforced.
 *
 * Administrators manage people and configuration; they do not get every other power by default,
 * so approvals and emergency authorisations keep their separation of duties.
 */
import { ROLES, type Role } from "./roles.ts";

/** Any signed-in user, whatever their roles. */
export const SIGNED_IN = "signed-in" as const;
export type PermissionRule = typeof SIGNED_IN | readonly Role[];

const EVERYONE: readonly Role[] = ROLES;

export const PERMISSIONS = {
  // The signed-in user's own account.
  "me.get": SIGNED_IN,
  "me.changePassword": SIGNED_IN,

  // People and roles.
  "users.list": ["admin"],
  "users.create": ["admin"],
  "users.update": ["admin"],
  "users.resetPassword": ["admin"],

  // The audit log: read-only for everyone who may see it.
  "audit.list": ["auditor", "admin"],
  "audit.verify": ["auditor", "admin"],
} as const satisfies Record<string, PermissionRule>;

export type ProcedurePath = keyof typeof PERMISSIONS;

export function ruleFor(path: string): PermissionRule | undefined {
  return (PERMISSIONS as Record<string, PermissionRule>)[path];
}

export type PermissionDecision = "allowed" | "forbidden" | "no-entry";

export function decide(path: string, roles: readonly Role[]): PermissionDecision {
  const rule = ruleFor(path);
  if (!rule) return "no-entry";
  if (rule === SIGNED_IN) return "allowed";
  return rule.some((role) => roles.includes(role)) ? "allowed" : "forbidden";
}

export function rolesAllowed(path: string): readonly Role[] {
  const rule = ruleFor(path);
  if (!rule) return [];
  return rule === SIGNED_IN ? EVERYONE : rule;
}
