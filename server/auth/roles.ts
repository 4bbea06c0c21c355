/** The roles a Greenlight user may hold; a user may hold several. */
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

export const ROLE_LABELS: Record<Role, string> = {
  viewer: "Viewer",
  release_manager: "Release manager",
  approver: "Approver",
  business_stakeholder: "Business stakeholder",
  security_reviewer: "Security reviewer",
  cto: "CTO",
  oncall: "On-call engineer",
  auditor: "Auditor",
  admin: "Administrator",
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
