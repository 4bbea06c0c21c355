/**
 * The roles a Greenlight user may hold: vocabulary at the bottom of the layers, so the configuration
 * can check a role map without importing auth.
 */
export const ROLES = [
  "viewer",
  "release_manager",
  "approver",
  "business_stakeholder",
  "security_reviewer",
  "cto",
  "oncall",
  "auditor",
  "admin",
] as const;

export type Role = (typeof ROLES)[number];
