import { ROLES, type Role } from "../roles.ts";

export { ROLES, type Role };

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
