/** The pipeline API's rules as specifications: whether a token may be used, routing, verdicts. */
import { describe, expect, it } from "vitest";
import { matchOperation, verdictOf } from "../../server/pipelines/api.ts";
import { judgeToken, type StoredToken } from "../../server/pipelines/scopes.ts";

const NOW = new Date("2026-12-01T12:00:00Z");
const TOKEN: StoredToken = {
  name: "CI",
  serviceId: "svc-a",
  scopes: ["read", "releases:write"],
  revokedAt: null,
  expiresAt: new Date("2026-12-31T00:00:00Z"),
};

describe("judgeToken", () => {
  it.each<
    [
      string,
      string | null,
      StoredToken | null,
      { serviceId: string | null; scope: "read" | "releases:write" | "deployments:write" },
      ReturnType<typeof judgeToken>,
    ]
  >([
    [
      "accepts a live token of the service with the scope",
      "glt_x",
      TOKEN,
      { serviceId: "svc-a", scope: "read" },
      { ok: true },
    ],
    [
      "lets a valid token through when the named thing does not exist (the route answers 404)",
      "glt_x",
      TOKEN,
      { serviceId: null, scope: "read" },
      { ok: true },
    ],
    [
      "401 without a token",
      null,
      null,
      { serviceId: "svc-a", scope: "read" },
      { ok: false, status: 401, reason: "an API token is required (Authorization: Bearer <token>)" },
    ],
    [
      "401 for an unknown token",
      "glt_x",
      null,
      { serviceId: "svc-a", scope: "read" },
      { ok: false, status: 401, reason: "the API token is not valid" },
    ],
    [
      "401 for a revoked token, before anything else",
      "glt_x",
      { ...TOKEN, revokedAt: NOW, serviceId: "svc-b" },
      { serviceId: "svc-a", scope: "read" },
      { ok: false, status: 401, reason: 'the API token "CI" was revoked' },
    ],
    [
      "401 at the very instant it expires",
      "glt_x",
      { ...TOKEN, expiresAt: NOW },
      { serviceId: "svc-a", scope: "read" },
      { ok: false, status: 401, reason: 'the API token "CI" expired on 2026-12-01T12:00:00.000Z' },
    ],
    [
      "accepts a token made before expiries existed",
      "glt_x",
      { ...TOKEN, expiresAt: null },
      { serviceId: "svc-a", scope: "read" },
      { ok: true },
    ],
    [
      "403 for another service",
      "glt_x",
      TOKEN,
      { serviceId: "svc-b", scope: "read" },
      { ok: false, status: 403, reason: 'the API token "CI" belongs to another service' },
    ],
    [
      "403 without the scope, naming it",
      "glt_x",
      TOKEN,
      { serviceId: "svc-a", scope: "deployments:write" },
      {
        ok: false,
        status: 403,
        reason:
          'the API token "CI" lacks the scope deployments:write (to start deployments); it has read, releases:write',
      },
    ],
  ])("%s", (_name, presented, stored, need, verdict) => {
    expect(judgeToken(presented, stored, need, NOW)).toEqual(verdict);
  });
});

describe("matchOperation", () => {
  it.each<[string, string, ReturnType<typeof matchOperation>]>([
    ["POST", "/api/v1/services/checkout/releases", { id: "createRelease", params: { service: "checkout" } }],
    [
      "GET",
      "/api/v1/services/checkout/releases/1.4.2%2Bbuild",
      { id: "getRelease", params: { service: "checkout", version: "1.4.2+build" } },
    ],
    [
      "POST",
      "/api/v1/services/checkout/releases/1.4.2/evidence",
      { id: "postEvidence", params: { service: "checkout", version: "1.4.2" } },
    ],
    ["GET", "/api/v1/services/checkout/releases", { id: null, allowed: ["POST"] }],
    ["GET", "/api/v1/services//releases", null],
    ["GET", "/api/v1/audit/export", null],
  ])("%s %s", (method, path, expected) => {
    expect(matchOperation(method, path)).toEqual(expected);
  });
});

describe("verdictOf", () => {
  it.each([
    ["preparing", "in_progress"],
    ["paused", "in_progress"],
    ["rolling_back", "in_progress"],
    ["succeeded", "succeeded"],
    ["rolled_back", "rolled_back"],
    ["failed", "failed"],
    ["aborted", "aborted"],
  ] as const)("%s → %s", (status, verdict) => expect(verdictOf(status)).toBe(verdict));
});
