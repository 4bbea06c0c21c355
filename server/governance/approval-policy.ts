/**
 * The approval rule, pure: a change request is approved when every role its change type requires
 * is filled by an approval of the current revision from a different person, none of them the
 * requester. One person fills at most one required role, even if they hold several of the roles.
 * Any rejection of the current revision rejects the request.
 */
import type { Role } from "../auth/roles.ts";

export interface ApprovalRecord {
  approverId: string;
  role: Role;
  decision: "approved" | "rejected";
  revision: number;
  reason?: string | null;
}

export interface ApprovalEvaluation {
  status: "approved" | "pending" | "rejected";
  /** Who fills which required role (a valid assignment, when there is one). */
  filled: { role: Role; approverId: string }[];
  missing: Role[];
  rejectedBy: string[];
}

/**
 * Assigns people to required roles (bipartite matching by augmenting paths; the sets are tiny).
 * `candidates[role]` lists who approved in that role.
 */
function assign(required: Role[], candidates: Map<Role, string[]>): Map<number, string> {
  const slotOf = new Map<string, number>();
  const byIndex = new Map<number, string>();
  const tryAssign = (index: number, seen: Set<string>): boolean => {
    for (const person of candidates.get(required[index]!) ?? []) {
      if (seen.has(person)) continue;
      seen.add(person);
      const current = slotOf.get(person);
      if (current === undefined || tryAssign(current, seen)) {
        slotOf.set(person, index);
        byIndex.set(index, person);
        return true;
      }
    }
    return false;
  };
  required.forEach((_, index) => tryAssign(index, new Set()));
  return byIndex;
}

export function evaluateApprovals(input: {
  requiredRoles: Role[];
  requesterId: string;
  revision: number;
  approvals: ApprovalRecord[];
}): ApprovalEvaluation {
  const current = input.approvals.filter((a) => a.revision === input.revision && a.approverId !== input.requesterId);
  const rejectedBy = [...new Set(current.filter((a) => a.decision === "rejected").map((a) => a.approverId))];
  const candidates = new Map<Role, string[]>();
  for (const a of current)
    if (a.decision === "approved")
      candidates.set(a.role, [...new Set([...(candidates.get(a.role) ?? []), a.approverId])]);
  const assignment = assign(input.requiredRoles, candidates);
  const filled = [...assignment.entries()].map(([index, approverId]) => ({
    role: input.requiredRoles[index]!,
    approverId,
  }));
  const missing = input.requiredRoles.filter((_, index) => !assignment.has(index));
  return {
    status: rejectedBy.length ? "rejected" : missing.length === 0 ? "approved" : "pending",
    filled,
    missing,
    rejectedBy,
  };
}

/** Which required roles a person could still fill on a request, given who has approved so far. */
export function rolesOpenTo(
  input: { requiredRoles: Role[]; requesterId: string; revision: number; approvals: ApprovalRecord[] },
  userId: string,
  userRoles: readonly Role[],
): Role[] {
  if (userId === input.requesterId) return [];
  const already = input.approvals.some((a) => a.revision === input.revision && a.approverId === userId);
  if (already) return [];
  const evaluation = evaluateApprovals(input);
  return [...new Set(evaluation.missing)].filter((role) => userRoles.includes(role));
}
