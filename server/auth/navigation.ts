/**
 * The dashboard's sections and who sees them. Where a section is backed by a procedure, the
 * permission table decides, so the navigation and the server never disagree.
 */
import { decide, type ProcedurePath } from "./permissions.ts";
import type { Role } from "./roles.ts";

export interface NavItem {
  href: string;
  label: string;
  /** The procedure whose permission decides, or the roles the section is for. */
  shownTo: ProcedurePath | readonly Role[];
}

export const NAVIGATION: NavItem[] = [
  { href: "/", label: "Overview", shownTo: "me.get" },
  { href: "/deployments", label: "Deployments", shownTo: "me.get" },
  {
    href: "/approvals",
    label: "Approvals",
    shownTo: ["release_manager", "approver", "business_stakeholder", "security_reviewer", "cto", "oncall"],
  },
  { href: "/maintenance", label: "Maintenance", shownTo: "me.get" },
  { href: "/delivery", label: "Delivery", shownTo: "delivery.metrics" },
  { href: "/audit", label: "Audit", shownTo: "audit.list" },
  { href: "/admin", label: "Admin", shownTo: "users.list" },
];

export function isShown(item: NavItem, roles: readonly Role[]): boolean {
  return typeof item.shownTo === "string"
    ? decide(item.shownTo, roles) === "allowed"
    : item.shownTo.some((r) => roles.includes(r));
}

export function navigationFor(roles: readonly Role[]): NavItem[] {
  return NAVIGATION.filter((item) => isShown(item, roles));
}
