/**
 * The REST API for pipelines over real HTTP against a real panel: scoped, expiring, revocable tokens
 * (401/403 and every refusal audited), every use audited under the token's name, releases,
 * evidence, deployments under the same governance as the UI, and the OpenAPI document generated
 * from the zod schemas the routes validate with.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentStartBody, releaseCreateBody } from "../../server/pipelines/api.ts";
import type { Scope } from "../../server/pipelines/scopes.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal } from "../helpers/panel-client.ts";
import { ALL_SCOPES, createApiToken, setUpService } from "../helpers/pipeline.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let rm: TestUser;
let serviceId: string;
let otherServiceId: string;
let envs: Record<string, string> = {};
let full: string;

const createToken = (service: string, name: string, scopes: Scope[]) => createApiToken(rm, service, name, scopes);

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: string; field?: string | null };
  headers: Headers;
}

async function api(method: string, path: string, token: string | null, body?: unknown, raw?: string): Promise<Answer> {
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined || raw ? { "Content-Type": "application/json" } : {}),
    },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"], headers: response.headers };
}

beforeAll(async () => {
  // TRUST_PROXY: the refusal-flood test comes from its own address (X-Forwarded-For).
  t = await startTestPanel({ TRUST_PROXY: "true" });
  rm = await t.createUser(["release_manager"], "Rel Manager");
  ({ serviceId, environments: envs } = await setUpService(t, rm, { name: "Checkout", slug: "checkout" }));
  otherServiceId = (await rm.client.services.create.mutate({ name: "Billing", slug: "billing" })).id;
  full = (await createToken(serviceId, "GitHub Actions", ALL_SCOPES)).token;
});
afterAll(() => t?.close());

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, lists every operation, and is generated from the schemas the routes validate with", async () => {
    const response = await fetch(`${t.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; security: unknown[] }>>;
      components: {
        schemas: Record<string, { properties: Record<string, { pattern?: string }>; required?: string[] }>;
        securitySchemes: Record<string, unknown>;
      };
    };
    expect(doc.openapi).toBe("3.1.0");
    const operations = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(operations.sort()).toEqual([
      "createRelease",
      "getDeployment",
      "getRelease",
      "getService",
      "postEvidence",
      "postEvidenceByReleaseId",
      "startDeployment",
    ]);
    expect(doc.paths["/api/v1/services/{service}/releases"]!.post!.security).toEqual([{ bearerToken: [] }]);
    // The body schemas are the zod schemas': their fields, required fields and patterns.
    expect(Object.keys(doc.components.schemas.ReleaseCreate!.properties).sort()).toEqual(
      Object.keys(releaseCreateBody.shape).sort(),
    );
    expect(doc.components.schemas.ReleaseCreate!.required?.sort()).toEqual(["artifact", "version"]);
    expect(doc.components.schemas.ReleaseCreate!.properties.version!.pattern).toBe("^[\\w.+-]{1,64}$");
    // A pattern carries no flags: the commit hash's says both cases itself, and a SHA-256 hash fits it.
    const commitSha = new RegExp(doc.components.schemas.ReleaseCreate!.properties.commitSha!.pattern!);
    expect(commitSha.test("0123456789ABCDEF0123456789abcdef01234567")).toBe(true);
    expect(commitSha.test("a".repeat(64))).toBe(true);
    expect(Object.keys(doc.components.schemas.DeploymentStart!.properties).sort()).toEqual(
      Object.keys(deploymentStartBody.shape).sort(),
    );
  });
});

describe("tokens", () => {
  it("refuse unknown scopes and bad expiries at creation, naming the field", async () => {
    const unknown = await refusal(
      // @ts-expect-error "approve" is not a scope: the type refuses it too
      rm.client.tokens.create.mutate({ serviceId, name: "X", scopes: ["read", "approve"], expiresInDays: 30 }),
    );
    expect(unknown.status).toBe(400);
    expect(unknown).toMatchObject({
      message: "Scopes (item 2): must be one of releases:write, deployments:write, evidence:write, read",
      field: "scopes",
    });
    const none = await refusal(rm.client.tokens.create.mutate({ serviceId, name: "X", scopes: [], expiresInDays: 30 }));
    expect(none).toMatchObject({ message: "Scopes: must name at least one scope", field: "scopes" });
    const forever = await refusal(
      rm.client.tokens.create.mutate({ serviceId, name: "X", scopes: ["read"], expiresInDays: 5000 }),
    );
    expect(forever).toMatchObject({
      message: "Expires in days: must be between 1 and 366 days",
      field: "expiresInDays",
    });
    const twice = await refusal(
      rm.client.tokens.create.mutate({ serviceId, name: "GitHub Actions", scopes: ["read"], expiresInDays: 30 }),
    );
    expect(twice).toMatchObject({
      status: 409,
      message: 'Checkout already has a token called "GitHub Actions"; choose another name',
      field: "name",
    });
    expect(await t.prisma.serviceApiToken.count({ where: { name: "X" } })).toBe(0);
  });

  it("are shown once and stored as their sha256; the list shows scopes, expiry and last use, never the token", async () => {
    const list = await rm.client.tokens.list.query({ serviceId });
    const mine = list.find((row) => row.name === "GitHub Actions")!;
    expect(mine).toMatchObject({
      scopes: ["releases:write", "deployments:write", "evidence:write", "read"],
      expiresAt: expect.any(Date),
      revokedAt: null,
    });
    expect(JSON.stringify(list)).not.toContain(full);
    expect("tokenHash" in mine).toBe(false);
    const row = await t.prisma.serviceApiToken.findFirstOrThrow({ where: { name: "GitHub Actions" } });
    expect(row.tokenHash).toBe(createHash("sha256").update(full).digest("hex"));
    const days = (row.expiresAt!.getTime() - row.createdAt.getTime()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });

  it("are refused with 401 when missing, unknown, revoked or expired, and 403 for another service or a missing scope; each refusal audited", async () => {
    const revoked = await createToken(serviceId, "Revoked", ["read"]);
    await rm.client.tokens.revoke.mutate({ id: revoked.id });
    const expired = await createToken(serviceId, "Expired", ["read"]);
    await t.prisma.serviceApiToken.update({
      where: { id: expired.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const billing = await createToken(otherServiceId, "Billing CI", ["read", "releases:write"]);
    const readOnly = await createToken(serviceId, "Reader", ["read"]);

    const cases: [string | null, number, RegExp][] = [
      [null, 401, /an API token is required/],
      ["glt_nope", 401, /the API token is not valid/],
      [revoked.token, 401, /"Revoked" was revoked/],
      [expired.token, 401, /"Expired" expired on/],
      [billing.token, 403, /"Billing CI" belongs to another service/],
    ];
    for (const [token, status, message] of cases) {
      const before = await t.prisma.auditEvent.count({ where: { action: "api_token.refused" } });
      const answer = await api("GET", "/api/v1/services/checkout", token);
      expect(answer.status, String(message)).toBe(status);
      expect(answer.body.error).toMatch(message);
      if (status === 401) expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="greenlight"');
      expect(await t.prisma.auditEvent.count({ where: { action: "api_token.refused" } })).toBe(before + 1);
    }
    const lacking = await api("POST", "/api/v1/services/checkout/releases", readOnly.token, {
      version: "0.0.1",
      artifact: "demo:0.0.1",
    });
    expect(lacking.status).toBe(403);
    expect(lacking.body.error).toBe(
      'the API token "Reader" lacks the scope releases:write (to create releases); it has read',
    );
    expect(await t.prisma.release.count({ where: { version: "0.0.1" } })).toBe(0);
  });
});

describe("releases", () => {
  it("are created with version, artifact, commit and commit time; audited with the token's name as the actor; the token's last use recorded", async () => {
    const answer = await api("POST", "/api/v1/services/checkout/releases", full, {
      version: "1.4.2",
      artifact: "registry.example.com/checkout:1.4.2",
      commitSha: "0123456789abcdef0123456789abcdef01234567",
      commitTime: "2026-11-30T14:05:00+01:00",
      notes: "Faster checkout",
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      service: "checkout",
      version: "1.4.2",
      commitSha: "0123456789abcdef0123456789abcdef01234567",
      commitTime: "2026-11-30T13:05:00.000Z",
      deployments: [],
    });
    const created = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "release.created" },
      orderBy: { seq: "desc" },
    });
    expect(created.actorEmail).toBe("token:GitHub Actions");
    const used = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "api_token.used" },
      orderBy: { seq: "desc" },
    });
    expect(used).toMatchObject({
      actorEmail: "token:GitHub Actions",
      after: { route: "POST /api/v1/services/{service}/releases", scope: "releases:write" },
    });
    expect(
      (await t.prisma.serviceApiToken.findFirstOrThrow({ where: { name: "GitHub Actions" } })).lastUsedAt,
    ).not.toBeNull();
  });

  it("answer 409 naming the field for a version that exists, and 400 naming the field for bad input; nothing changes", async () => {
    const before = await t.prisma.release.count();
    const again = await api("POST", "/api/v1/services/checkout/releases", full, { version: "1.4.2", artifact: "x" });
    expect(again).toMatchObject({
      status: 409,
      body: { error: "Checkout already has a release with the version 1.4.2", field: "version" },
    });
    const cases: [unknown, string, string][] = [
      [
        { version: "1.4 2", artifact: "x" },
        "version",
        "Version: must be 1–64 letters, digits, dots, dashes, pluses or underscores (e.g. 1.4.2)",
      ],
      [{ version: "1.5.0" }, "artifact", "Artifact: Invalid input: expected string, received undefined"],
      [
        { version: "1.5.0", artifact: "x", commitSha: "main" },
        "commitSha",
        "Commit SHA: must be a git commit hash (7–64 hex digits)",
      ],
      [
        { version: "1.5.0", artifact: "x", commitTime: "yesterday" },
        "commitTime",
        "Commit time: must be an ISO 8601 time with a zone, such as 2026-11-30T14:05:00Z",
      ],
      [
        { version: "1.5.0", artifact: "x", settings: { failureRate: 2 } },
        "settings",
        "Failure rate (settings): must be between 0 and 1",
      ],
      [{ version: "1.5.0", artifact: "x\u0000" }, "artifact", "Artifact: must not contain a NUL character"],
      [[1, 2], "input", "The request body must be a JSON object"],
    ];
    for (const [body, field, error] of cases) {
      const answer = await api("POST", "/api/v1/services/checkout/releases", full, body);
      expect(answer, JSON.stringify(body)).toMatchObject({ status: 400, body: { field, error } });
    }
    const badJson = await api("POST", "/api/v1/services/checkout/releases", full, undefined, "{nope");
    expect(badJson).toMatchObject({
      status: 400,
      body: { error: "The request body is not valid JSON", field: "input" },
    });
    expect(await t.prisma.release.count()).toBe(before);
  });

  it("answer 404 for a service or release that does not exist, and 405 for a method the path does not take", async () => {
    expect((await api("GET", "/api/v1/services/nope", full)).status).toBe(404);
    expect((await api("GET", "/api/v1/services/checkout/releases/9.9.9", full)).status).toBe(404);
    expect((await api("GET", "/api/v1/services/checkout/releases/NOT%20A%20VERSION", full)).body.field).toBe("version");
    const wrong = await api("DELETE", "/api/v1/services/checkout/releases", full);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });
});

describe("evidence", () => {
  it("is posted by version with an evidence:write token, and by release id with a token made before scopes existed", async () => {
    const answer = await api("POST", "/api/v1/services/checkout/releases/1.4.2/evidence", full, {
      item: "tests_passing",
      status: "passed",
      url: "https://ci.example.com/run/42",
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { item: "tests_passing", status: "passed", environments: ["production"] },
    });
    // A token as the first version of the panel stored it (the migration gave it evidence:write and no expiry).
    const legacy = "glt_legacy-token-made-before-scopes";
    await t.prisma.serviceApiToken.create({
      data: {
        serviceId,
        name: "Old CI",
        tokenHash: createHash("sha256").update(legacy).digest("hex"),
        prefix: legacy.slice(0, 10),
        scopes: ["evidence:write"],
      },
    });
    const release = await t.prisma.release.findFirstOrThrow({ where: { version: "1.4.2" } });
    const old = await api("POST", `/api/v1/releases/${release.id}/evidence`, legacy, {
      item: "security_scan",
      status: "passed",
    });
    expect(old).toMatchObject({ status: 200, body: { item: "security_scan", environments: ["production"] } });
    const item = await t.prisma.checklistItem.findFirstOrThrow({
      where: { releaseId: release.id, key: "security_scan" },
    });
    expect(item).toMatchObject({ done: true, evidence: { status: "passed", token: "Old CI" } });
    // …and that token can do nothing else.
    expect((await api("GET", "/api/v1/services/checkout", legacy)).status).toBe(403);
  });
});

describe("deployments", () => {
  it("start in an environment and are followed to their verdict, with the timeline after a given event", async () => {
    const started = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "development",
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      service: "checkout",
      environment: "development",
      version: "1.4.2",
      verdict: "in_progress",
      url: expect.stringContaining(`/deployments/${started.body.id as string}`),
    });
    const id = started.body.id as string;
    const done = await waitFor(
      async () => {
        const answer = await api("GET", `/api/v1/deployments/${id}`, full);
        return answer.body.verdict !== "in_progress" ? answer.body : undefined;
      },
      "the deployment to end",
      60_000,
    );
    expect(done).toMatchObject({ status: "succeeded", verdict: "succeeded", rollbackReason: null });
    const events = done.events as { seq: number; kind: string }[];
    expect(events[0]).toMatchObject({ seq: 1, kind: "created" });
    const later = await api("GET", `/api/v1/deployments/${id}?afterSeq=${events.length - 1}`, full);
    expect((later.body.events as { seq: number }[]).map((e) => e.seq)).toEqual([events.length]);
    expect((await api("GET", `/api/v1/deployments/${id}?afterSeq=-1`, full)).body).toMatchObject({ field: "afterSeq" });
    const startedEvent = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "deployment.started", entityId: id },
    });
    expect(startedEvent.actorEmail).toBe("token:GitHub Actions");
    const service = await api("GET", "/api/v1/services/checkout", full);
    expect(service.body.environments).toContainEqual({
      name: "development",
      production: false,
      liveVersion: "1.4.2",
      activeDeployment: null,
    });
  });

  it("meet the same governance as in the panel: the promotion order, and in production an approved change request; a token cannot approve", async () => {
    const skipping = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "production",
    });
    expect(skipping).toMatchObject({
      status: 412,
      body: { field: "version", error: "Release 1.4.2 has not succeeded in staging yet; promote it there first" },
    });
    const staging = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "staging",
    });
    await waitFor(
      async () =>
        (await api("GET", `/api/v1/deployments/${staging.body.id as string}`, full)).body.verdict === "succeeded",
      "staging to succeed",
      60_000,
    );
    const unapproved = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "production",
    });
    expect(unapproved).toMatchObject({
      status: 412,
      body: {
        field: "version",
        error:
          "A production deployment needs an approved change request; there is none for release 1.4.2 in production",
      },
    });
    expect(await t.prisma.deployment.count({ where: { environmentId: envs.production } })).toBe(0);
    // No API route approves anything, and a token is no session for the panel's own procedures.
    expect((await api("POST", "/api/v1/changes/x/approve", full, {})).status).toBe(404);
    const trpc = await fetch(`${t.url}/api/trpc/changes.approve`, {
      method: "POST",
      headers: { Authorization: `Bearer ${full}`, "Content-Type": "application/json" },
      body: JSON.stringify({ json: { id: envs.production } }),
    });
    expect(trpc.status).toBe(401);
  });

  it("answer 400 naming the field for an unknown environment, and 409 when one is already live", async () => {
    const zone = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "staging",
      timeZone: "Mars/Olympus",
    });
    expect(zone).toMatchObject({
      status: 400,
      body: { field: "timeZone", error: "Time zone: must be an IANA time zone such as Europe/Paris" },
    });
    const unknown = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "qa",
    });
    expect(unknown).toMatchObject({
      status: 400,
      body: { field: "environment", error: 'The service has no environment "qa"' },
    });
    const live = await api("POST", "/api/v1/services/checkout/deployments", full, {
      version: "1.4.2",
      environment: "development",
    });
    expect(live).toMatchObject({
      status: 409,
      body: { field: "version", error: "Release 1.4.2 is already live in development" },
    });
  });
});

describe("refused requests from one address", () => {
  const from = (ip: string, token: string) =>
    fetch(`${t.url}/api/v1/services/checkout`, {
      headers: { Authorization: `Bearer ${token}`, "X-Forwarded-For": ip },
    });
  const audited = (action: string, ip: string) => t.prisma.auditEvent.count({ where: { action, ip } });

  it("are audited up to 30 a minute; then the address is answered 429 with Retry-After and the audit chain stops growing", async () => {
    const answers = await Promise.all(Array.from({ length: 45 }, () => from("10.9.9.9", "glt_made-up")));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const throttled = answers.find((a) => a.status === 429)!;
    const retryAfter = Number(throttled.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await throttled.json()) as { error: string }).error).toMatch(
      /^Too many refused requests from this address \(30 in 60 s\); try again in \d+ s$/,
    );
    expect(await audited("api_token.refused", "10.9.9.9")).toBe(30);
    expect(await audited("api_token.throttled", "10.9.9.9")).toBe(1);
    expect((await from("10.9.9.9", "glt_made-up")).status).toBe(429);
    expect((await audited("api_token.refused", "10.9.9.9")) + (await audited("api_token.throttled", "10.9.9.9"))).toBe(
      31,
    );
    // Another address is refused as usual, and a valid token from the throttled address still works.
    expect((await from("10.9.9.10", "glt_made-up")).status).toBe(401);
    expect((await from("10.9.9.9", full)).status).toBe(200);
  });
});
