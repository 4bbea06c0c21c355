import { describe, expect, it } from "vitest";
import { evaluateApprovals, rolesOpenTo, type ApprovalRecord } from "../../server/governance/approval-policy.ts";
import type { Role } from "../../server/auth/roles.ts";

const approve = (approverId: string, role: Role, revision = 1): ApprovalRecord => ({
  approverId,
  role,
  decision: "approved",
  revision,
});
const reject = (approverId: string, role: Role, revision = 1): ApprovalRecord => ({
  approverId,
  role,
  decision: "rejected",
  revision,
  reason: "no",
});

describe("evaluateApprovals", () => {
  it.each<[string, Role[], ApprovalRecord[], string, Role[]]>([
    ["standard: nobody yet", ["approver"], [], "pending", ["approver"]],
    ["standard: one approver", ["approver"], [approve("ann", "approver")], "approved", []],
    ["the requester's own approval never counts", ["approver"], [approve("req", "approver")], "pending", ["approver"]],
    [
      "user-facing with only the approver",
      ["approver", "business_stakeholder"],
      [approve("ann", "approver")],
      "pending",
      ["business_stakeholder"],
    ],
    [
      "user-facing with both",
      ["approver", "business_stakeholder"],
      [approve("ann", "approver"), approve("bob", "business_stakeholder")],
      "approved",
      [],
    ],
    [
      "one person cannot fill two required roles",
      ["approver", "business_stakeholder"],
      [approve("ann", "approver"), approve("ann", "business_stakeholder")],
      "pending",
      ["business_stakeholder"],
    ],
    [
      "a person is moved to the role only they can fill (matching, not first come)",
      ["approver", "security_reviewer"],
      [approve("ann", "approver"), approve("ann", "security_reviewer"), approve("bob", "approver")],
      "approved",
      [],
    ],
    ["approvals of an earlier revision lapse", ["approver"], [approve("ann", "approver", 1)], "pending", ["approver"]],
    [
      "a rejection of the current revision rejects",
      ["approver", "business_stakeholder"],
      [approve("ann", "approver"), reject("bob", "business_stakeholder")],
      "rejected",
      ["business_stakeholder"],
    ],
    [
      "a rejection of an earlier revision does not",
      ["approver"],
      [reject("bob", "approver", 1), approve("ann", "approver", 2)],
      "approved",
      [],
    ],
    ["no required roles (emergency is authorised elsewhere)", [], [], "approved", []],
  ])("%s", (_name, requiredRoles, approvals, status, missing) => {
    const revision = approvals.some((a) => a.revision === 2) || _name.includes("lapse") ? 2 : 1;
    const result = evaluateApprovals({ requiredRoles, requesterId: "req", revision, approvals });
    expect(result.status).toBe(status);
    expect(result.missing).toEqual(missing);
    expect(new Set(result.filled.map((f) => f.approverId)).size).toBe(result.filled.length);
  });
});

describe("rolesOpenTo", () => {
  const base = { requiredRoles: ["approver", "business_stakeholder"] as Role[], requesterId: "req", revision: 1 };
  it.each<[string, string, Role[], ApprovalRecord[], Role[]]>([
    ["an approver sees the approver role", "ann", ["approver"], [], ["approver"]],
    [
      "someone holding both roles sees both",
      "ann",
      ["approver", "business_stakeholder"],
      [],
      ["approver", "business_stakeholder"],
    ],
    ["the requester sees nothing", "req", ["approver"], [], []],
    [
      "someone who already signed sees nothing more",
      "ann",
      ["approver", "business_stakeholder"],
      [approve("ann", "approver")],
      [],
    ],
    ["a role already filled is not open", "bob", ["approver"], [approve("ann", "approver")], []],
    ["a viewer sees nothing", "vic", ["viewer"], [], []],
  ])("%s", (_name, user, roles, approvals, expected) => {
    expect(rolesOpenTo({ ...base, approvals }, user, roles)).toEqual(expected);
  });
});
