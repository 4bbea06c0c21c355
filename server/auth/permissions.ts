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

  // Services, environments and releases: everyone signed in may look; release managers change them.
  "services.overview": SIGNED_IN,
  "services.list": SIGNED_IN,
  "services.get": SIGNED_IN,
  "services.create": ["release_manager", "admin"],
  "environments.metrics": SIGNED_IN,
  "environments.availability": SIGNED_IN,
  "environments.alerts": SIGNED_IN,
  "environments.updatePolicy": ["release_manager"],
  "environments.updateAlertThresholds": ["release_manager", "admin"],
  "environments.setTrafficGenerator": ["release_manager"],
  // Hooks call URLs and flush caches: configuration for administrators only.
  "environments.setRollbackHooks": ["admin"],
  "releases.create": ["release_manager"],

  // Deployments. Anyone who may stop harm (on-call, CTO) may pause or roll back; only release
  // managers move a release forward.
  "deployments.list": SIGNED_IN,
  "deployments.get": SIGNED_IN,
  "deployments.start": ["release_manager"],
  "deployments.pause": ["release_manager", "oncall", "cto"],
  "deployments.resume": ["release_manager"],
  "deployments.promote": ["release_manager"],
  "deployments.rollback": ["release_manager", "oncall", "cto"],
  "deployments.abort": ["release_manager"],

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
