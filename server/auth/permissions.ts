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
/** Auditors read; they never change anything. */
const EVERYONE_BUT_AUDITORS: readonly Role[] = ROLES.filter((r) => r !== "auditor");
/** Roles an approval policy may require. */
const APPROVING: readonly Role[] = [
  "approver",
  "business_stakeholder",
  "security_reviewer",
  "cto",
  "oncall",
  "release_manager",
  "admin",
];

export const PERMISSIONS = {
  // The signed-in user's own account.
  "me.get": SIGNED_IN,
  "me.changePassword": SIGNED_IN,
  // Your own notifications and what you subscribe to.
  "me.notifications": SIGNED_IN,
  "me.markNotificationsRead": SIGNED_IN,
  "me.subscriptions": SIGNED_IN,
  "me.setSubscription": SIGNED_IN,

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
  // Prometheus as the gates' metric source: a URL the panel calls with a bearer token, so set by
  // administrators (like the target); release managers see it (never the token).
  "environments.prometheus": ["admin", "release_manager"],
  "environments.setPrometheus": ["admin"],
  "environments.removePrometheus": ["admin"],
  "releases.create": ["release_manager"],
  // Targets: the ECS configuration (administrators), checks against AWS, read-only views.
  "targets.config": ["admin", "release_manager"],
  "targets.configure": ["admin"],
  "targets.verify": ["admin"],
  "targets.plan": SIGNED_IN,
  "targets.scaling": SIGNED_IN,

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

  // Change requests. Release managers request; the roles a change type's policy names approve (the
  // domain checks the caller holds a role the change still needs, and is not its requester).
  "changes.list": SIGNED_IN,
  "changes.get": SIGNED_IN,
  "changes.inbox": SIGNED_IN,
  "changes.create": ["release_manager"],
  "changes.requestRedeploy": ["release_manager"],
  "changes.update": ["release_manager"],
  "changes.withdraw": ["release_manager"],
  "changes.approve": APPROVING,
  "changes.reject": APPROVING,
  "changes.policies": SIGNED_IN,
  "changes.updatePolicy": ["admin"],

  // Checklists: ticked by those who do the work; templates kept by release managers.
  "checklist.get": SIGNED_IN,
  "checklist.tick": ["release_manager", "approver", "security_reviewer"],
  "checklist.tickMany": ["release_manager", "approver", "security_reviewer"],
  "checklist.template": SIGNED_IN,
  "checklist.updateTemplate": ["release_manager", "admin"],

  // API tokens for pipelines (scoped, expiring, per service): release managers and administrators.
  "tokens.list": ["release_manager", "admin"],
  "tokens.create": ["release_manager", "admin"],
  "tokens.revoke": ["release_manager", "admin"],

  // Maintenance windows (administrators), emergencies (anyone may ask; CTO or on-call authorise).
  "maintenance.windows": SIGNED_IN,
  "maintenance.rules": SIGNED_IN,
  "maintenance.createRule": ["admin"],
  "maintenance.updateRule": ["admin"],
  "maintenance.deleteRule": ["admin"],
  "maintenance.emergencies": SIGNED_IN,
  "maintenance.overdueReviews": SIGNED_IN,
  "maintenance.requestEmergency": EVERYONE_BUT_AUDITORS,
  "maintenance.authorizeEmergency": ["cto", "oncall"],
  "maintenance.rejectEmergency": ["cto", "oncall"],
  "maintenance.closeEmergency": ["cto", "oncall"],
  "maintenance.updateReview": ["cto", "oncall", "release_manager"],
  "maintenance.signOffReview": ["cto", "oncall"],
  // Scheduling a change into a window starts a deployment later: who may start one schedules it.
  "maintenance.scheduled": SIGNED_IN,
  "maintenance.schedule": ["release_manager"],
  "maintenance.cancelSchedule": ["release_manager", "oncall", "cto"],

  // Delivery metrics (DORA): for those who answer for delivery.
  "delivery.metrics": ["cto", "release_manager"],

  // Post-deployment surveys.
  "surveys.submit": EVERYONE_BUT_AUDITORS,
  "surveys.summary": SIGNED_IN,
  "surveys.forDeployment": SIGNED_IN,

  // The audit log: read-only for everyone who may see it.
  "audit.list": ["auditor", "admin"],
  "audit.verify": ["auditor", "admin"],
  "audit.actions": ["auditor", "admin"],
  "audit.deploymentHistory": ["auditor", "admin"],
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
