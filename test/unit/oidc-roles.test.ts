import { describe, expect, it } from "vitest";
import { rolesForGroups } from "../../server/auth/oidc.ts";
import type { Role } from "../../server/auth/roles.ts";

const MAP: Record<string, Role[]> = {
  "platform-leads": ["release_manager", "approver"],
  sre: ["oncall"],
  leads: ["approver"],
};

describe("rolesForGroups maps the identity provider's groups claim to roles", () => {
  it.each<[string, unknown, Role[]]>([
    ["one mapped group", ["sre"], ["oncall"]],
    ["several, overlapping: each role once, sorted", ["leads", "platform-leads"], ["approver", "release_manager"]],
    ["mapped and unmapped groups", ["sre", "marketing"], ["oncall"]],
    ["a claim that is a single string", "sre", ["oncall"]],
    ["no mapped group: viewer only", ["marketing"], ["viewer"]],
    ["an empty claim", [], ["viewer"]],
    ["a missing claim", undefined, ["viewer"]],
    ["non-string entries are ignored", [42, { admin: true }, "sre"], ["oncall"]],
    ["a group name is matched exactly (no case folding)", ["SRE"], ["viewer"]],
  ])("%s", (_, groups, roles) => {
    expect(rolesForGroups(groups, MAP)).toEqual(roles);
  });
});
