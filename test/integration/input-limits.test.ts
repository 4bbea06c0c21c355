/**
 * Inputs that are valid JSON but would hurt (issue 10, Low 8 and 10): nesting deep enough to overflow
 * the stack of anything that walks it is refused before parsing, with a 400 naming the input, on every
 * procedure; CI evidence with a NUL character or over 64 KB gets 400 and 413, not a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_INPUT_DEPTH } from "../../server/http/json-depth.ts";
import { sameOrigin, startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";

let t: TestPanel;
let admin: TestUser;
beforeAll(async () => {
  t = await startTestPanel();
  admin = await t.createUser(["admin"]);
});
afterAll(() => t?.close());

const nested = (depth: number, open = "[", close = "]") => `${open.repeat(depth)}${close.repeat(depth)}`;
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

type TrpcErrorBody = {
  error: { json: { message: string; data: { httpStatus: number; code: string; field: string | null } } };
};

async function postRaw(path: string, body: string) {
  const response = await fetch(`${t.url}/api/trpc/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: admin.cookie, ...sameOrigin(t.url) },
    body,
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe("deeply nested input", () => {
  it.each([
    ["20,000 arrays", `{"json":${nested(20_000)}}`],
    ["20,000 objects", `{"json":${nestedObject(20_000)}}`],
    [`${MAX_INPUT_DEPTH + 1} levels, just past the limit`, `{"json":${nested(MAX_INPUT_DEPTH)}}`],
  ])("is refused with 400 naming the input before it is parsed: %s", async (_name, body) => {
    const { status, body: answer } = await postRaw("users.create", body);
    expect(status).toBe(400);
    expect((answer as TrpcErrorBody).error.json).toMatchObject({
      message: `The input must not be nested deeper than ${MAX_INPUT_DEPTH} levels`,
      data: { httpStatus: 400, code: "BAD_REQUEST", field: "input" },
    });
  });

  it("is refused in a query's input and in every call of a batch", async () => {
    const query = await fetch(`${t.url}/api/trpc/users.list?input=${encodeURIComponent(`{"json":${nested(2000)}}`)}`, {
      headers: { Cookie: admin.cookie },
    });
    expect(query.status).toBe(400);
    expect(((await query.json()) as TrpcErrorBody).error.json.message).toBe(
      `The input must not be nested deeper than ${MAX_INPUT_DEPTH} levels`,
    );

    const batch = await postRaw(
      "users.create,users.update?batch=1",
      `{"0":{"json":${nested(20_000)}},"1":{"json":{}}}`,
    );
    expect(batch.status).toBe(400);
    expect(batch.body).toHaveLength(2);
    for (const item of batch.body as TrpcErrorBody[])
      expect(item.error.json.data).toMatchObject({ httpStatus: 400, field: "input" });
  });

  it("within the limit, and brackets inside strings, are left to the procedure's own validation", async () => {
    const { status, body } = await postRaw(
      "users.create",
      `{"json":{"email":"${"[".repeat(500)}","name":"x","roles":["viewer"]}}`,
    );
    expect(status).toBe(400);
    expect((body as TrpcErrorBody).error.json.data.field).toBe("email");
    expect((await postRaw("users.list", "")).status).toBe(405);
  });

  it("is refused by the sign-in endpoint too (a JSON body)", async () => {
    const response = await fetch(`${t.url}/api/auth/callback/credentials`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"email":${nested(20_000)}}`,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: `The request body must not be nested deeper than ${MAX_INPUT_DEPTH} levels`,
    });
  });

  it("leaves the panel serving", async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });
});

describe("CI evidence", () => {
  let releaseId: string;
  let token: string;
  beforeAll(async () => {
    const rm = await t.createUser(["release_manager", "admin"]);
    // Production's checklist has the automatic "tests_passing" item, so evidence for it reaches the database.
    const service = await rm.client.services.create.mutate({ name: "Evidence", environments: ["production"] });
    releaseId = (
      await rm.client.releases.create.mutate({ serviceId: service.id, version: "1.0.0", artifact: "evidence:1.0.0" })
    ).id;
    token = (
      await rm.client.tokens.create.mutate({
        serviceId: service.id,
        name: "CI",
        scopes: ["evidence:write"],
        expiresInDays: 30,
      })
    ).token;
  });

  const post = (body: string) =>
    fetch(`${t.url}/api/v1/releases/${releaseId}/evidence`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body,
    });

  it("with a NUL character in details is a 400 naming the field, and stores nothing", async () => {
    const stored = async () =>
      (await t.prisma.checklistItem.findMany({ where: { releaseId }, select: { evidence: true } })).map(
        (i) => i.evidence,
      );
    const before = await stored();
    const response = await post(JSON.stringify({ item: "tests_passing", status: "passed", details: "ok\u0000then" }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "Details: must not contain a NUL character", field: "details" });
    expect(await stored()).toEqual(before);
    // The same evidence without the NUL is stored: the refusal above is the NUL's, not the item's.
    const accepted = await post(JSON.stringify({ item: "tests_passing", status: "passed", details: "ok then" }));
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    expect(await stored()).not.toEqual(before);
  });

  it("over 64 KB is a 413", async () => {
    const response = await post(
      JSON.stringify({ item: "tests_passing", status: "passed", details: "x".repeat(70 * 1024) }),
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: "The request body is larger than 65536 bytes" });
  });

  it("nested 20,000 deep is a 400, and the panel keeps serving", async () => {
    const response = await post(`{"item":${nested(20_000)}}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: `The input must not be nested deeper than ${MAX_INPUT_DEPTH} levels`,
      field: "input",
    });
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });
});
