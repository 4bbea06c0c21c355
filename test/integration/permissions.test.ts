/**
 * The permission matrix over real HTTP: every procedure of the app router, called by a user of each
 * role and by nobody, answers as server/auth/permissions.ts says. The expectations come from the
 * table itself, so a new procedure is covered as soon as it has an entry (and fails here until it
 * does). Refusals are audited and change nothing; bad input is a 400 naming the field.
 */
import type { AnyProcedure } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decide, PERMISSIONS, rolesAllowed } from "../../server/auth/permissions.ts";
import { ROLES, type Role } from "../../server/auth/roles.ts";
import type { Context } from "../../server/trpc/context.ts";
import { createCallerFactory, createRouter, procedure } from "../../server/trpc/init.ts";
import { appRouter } from "../../server/trpc/root.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { trpcMutation, trpcQuery, type TrpcResponse } from "../helpers/trpc.ts";

// At run time `_def.procedures` is flat, keyed by the full dotted path (its static type is nested).
const PROCEDURES = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>)
  .map(([path, p]) => ({ path, type: p._def.type }))
  .sort((a, b) => a.path.localeCompare(b.path));

/** A call with an input no procedure accepts (null is not an object), so an allowed call changes nothing. */
function call(path: string, type: string, cookie: string | undefined, input: unknown = null): Promise<TrpcResponse> {
  return type === "query" ? trpcQuery(t.url, path, input, cookie) : trpcMutation(t.url, path, input, cookie);
}

function callProcedure(path: string, input: unknown, cookie: string | undefined): Promise<TrpcResponse> {
  const found = PROCEDURES.find((p) => p.path === path);
  if (!found) throw new Error(`${path} is not a procedure`);
  return call(path, found.type, cookie, input);
}

/** Everything about the people in the database that a procedure could change. */
async function usersSnapshot() {
  const users = await t.prisma.user.findMany({ orderBy: { id: "asc" } });
  return users.map(({ id, email, name, roles, active, passwordHash, sessionsValidAfter, updatedAt }) => ({
    id,
    email,
    name,
    roles,
    active,
    passwordHash,
    sessionsValidAfter,
    updatedAt,
  }));
}

const auditHead = async () => Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);
const eventsAfter = (seq: number) =>
  t.prisma.auditEvent.findMany({ where: { seq: { gt: BigInt(seq) } }, orderBy: { seq: "asc" } });

let t: TestPanel;
const byRole = new Map<Role, TestUser>();
const user = (role: Role): TestUser => {
  const found = byRole.get(role);
  if (!found) throw new Error(`no ${role} user`);
  return found;
};

beforeAll(async () => {
  t = await startTestPanel();
  // One user per role, each holding only that role; the admin is the panel's only administrator.
  for (const role of ROLES) byRole.set(role, await t.createUser([role], `Only ${role}`));
});
afterAll(() => t?.close());

describe("the permission table", () => {
  it("has an entry for every procedure, and no entry that is not a procedure", () => {
    const procedures = PROCEDURES.map((p) => p.path);
    const entries = Object.keys(PERMISSIONS);
    expect(procedures.length).toBeGreaterThan(0);
    expect(
      procedures.filter((p) => !entries.includes(p)),
      "procedures without an entry in PERMISSIONS",
    ).toEqual([]);
    expect(
      entries.filter((e) => !procedures.includes(e)),
      "stale PERMISSIONS entries (no such procedure)",
    ).toEqual([]);
  });

  it("covers only queries and mutations (the matrix below knows how to call those)", () => {
    expect(PROCEDURES.filter((p) => p.type !== "query" && p.type !== "mutation")).toEqual([]);
  });

  it("lets nobody call a procedure that has no entry, and audits the attempt", async () => {
    expect(decide("nothing.here", [...ROLES])).toBe("no-entry");
    expect(rolesAllowed("nothing.here")).toEqual([]);
    // A procedure built like every other, but missing from the table: even an admin is refused.
    const ghost = createCallerFactory(createRouter({ ghost: createRouter({ read: procedure.query(() => "secret") }) }));
    const admin = user("admin");
    const ctx: Context = {
      services: t.panel.services,
      user: {
        id: admin.id,
        email: admin.email,
        name: "Admin",
        roles: [...ROLES],
        sessionId: "ghost-session",
        sessionExpiresAt: new Date(Date.now() + 3600_000),
      },
      ip: "10.9.9.9",
      traceId: "ghost-trace",
    };
    const head = await auditHead();
    await expect(ghost(ctx).ghost.read()).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("ghost.read has no entry in the permission table"),
    });
    expect(await eventsAfter(head)).toMatchObject([
      {
        action: "auth.forbidden",
        entityType: "Procedure",
        entityId: "ghost.read",
        actorId: admin.id,
        ip: "10.9.9.9",
        traceId: "ghost-trace",
      },
    ]);
  });
});

describe("the permission matrix over HTTP", () => {
  it("answers 401 to nobody, 403 to roles outside the table, neither to roles in it, and never 500", async () => {
    const usersBefore = await usersSnapshot();
    const head = await auditHead();
    const mismatches: string[] = [];
    const expectedRefusals: { path: string; actorId: string; role: Role }[] = [];
    const callers: { who: Role | "unauthenticated"; user: TestUser | undefined }[] = [
      { who: "unauthenticated", user: undefined },
      ...ROLES.map((role) => ({ who: role, user: user(role) })),
    ];

    for (const { path, type } of PROCEDURES) {
      for (const { who, user: caller } of callers) {
        let expected: "401" | "403" | "allowed";
        if (!caller) expected = "401";
        else expected = decide(path, [who as Role]) === "allowed" ? "allowed" : "403";
        // The two ways of reading the table agree.
        if (caller && (expected === "allowed") !== rolesAllowed(path).includes(who as Role))
          mismatches.push(`${path} × ${who}: decide() and rolesAllowed() disagree`);

        const response = await call(path, type, caller?.cookie);
        const got = response.status;
        const ok =
          got !== 500 &&
          (expected === "401" ? got === 401 : expected === "403" ? got === 403 : got !== 401 && got !== 403);
        if (!ok)
          mismatches.push(
            `${path} × ${who}: expected ${expected === "allowed" ? "neither 401 nor 403" : expected}, got ${got}${response.error ? ` (${response.error.message})` : ""}`,
          );
        if (expected === "403" && caller) expectedRefusals.push({ path, actorId: caller.id, role: who as Role });
      }
    }
    expect(mismatches, "mismatching (procedure × role: expected, got)").toEqual([]);

    // Nothing changed but the audit log, which gained exactly one auth.forbidden event per refusal.
    expect(await usersSnapshot()).toEqual(usersBefore);
    // (A burst of refusals by one user also raises security alerts to administrators: expected.)
    const events = (await eventsAfter(head)).filter((e) => e.action !== "security.alert");
    expect(events.filter((e) => e.action !== "auth.forbidden").map((e) => e.action)).toEqual([]);
    const audited = events.map((e) => `${e.entityId} × ${e.actorId}`).sort();
    expect(audited).toEqual(expectedRefusals.map((r) => `${r.path} × ${r.actorId}`).sort());
  });
});

describe("a refused call", () => {
  it("is audited as auth.forbidden with the procedure and the caller, and the message names both sides", async () => {
    const viewer = user("viewer");
    const head = await auditHead();
    const response = await callProcedure("users.list", undefined, viewer.cookie);
    expect(response.status).toBe(403);
    expect(response.error?.message).toBe("users.list is for admin; you are viewer");
    const events = await eventsAfter(head);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      seq: BigInt(head + 1),
      action: "auth.forbidden",
      entityType: "Procedure",
      entityId: "users.list",
      actorId: viewer.id,
      actorEmail: viewer.email,
      actorRoles: ["viewer"],
      ip: "127.0.0.1",
      after: { roles: ["viewer"] },
    });
  });

  it("changes nothing else, even with a valid input (users.create by a viewer creates no user)", async () => {
    const viewer = user("viewer");
    const usersBefore = await usersSnapshot();
    const head = await auditHead();
    const email = "should-not-exist@example.test";
    const response = await callProcedure("users.create", { email, name: "Mallory", roles: ["admin"] }, viewer.cookie);
    expect(response.status).toBe(403);
    expect(await t.prisma.user.count({ where: { email } })).toBe(0);
    expect(await usersSnapshot()).toEqual(usersBefore);
    expect((await eventsAfter(head)).map((e) => [e.action, e.entityId, e.actorId])).toEqual([
      ["auth.forbidden", "users.create", viewer.id],
    ]);
  });

  it("changes nothing else when it would have changed someone (users.update and users.resetPassword by non-admins)", async () => {
    const admin = user("admin");
    const usersBefore = await usersSnapshot();
    const head = await auditHead();
    const attempts: [string, unknown, Role][] = [
      ["users.update", { id: admin.id, active: false }, "cto"],
      ["users.update", { id: user("auditor").id, roles: ["admin"] }, "auditor"],
      ["users.resetPassword", { id: admin.id }, "security_reviewer"],
    ];
    for (const [path, input, role] of attempts)
      expect((await callProcedure(path, input, user(role).cookie)).status, `${path} by ${role}`).toBe(403);
    expect(await usersSnapshot()).toEqual(usersBefore);
    expect((await eventsAfter(head)).map((e) => [e.action, e.entityId, e.actorId])).toEqual(
      attempts.map(([path, , role]) => ["auth.forbidden", path, user(role).id]),
    );
    // The administrator's session still works: the refused deactivation did not happen.
    expect((await callProcedure("me.get", undefined, admin.cookie)).status).toBe(200);
  });

  it("without a session is a 401 that changes nothing", async () => {
    const usersBefore = await usersSnapshot();
    const head = await auditHead();
    const response = await callProcedure(
      "users.create",
      { email: "anonymous@example.test", name: "Anon", roles: ["viewer"] },
      undefined,
    );
    expect(response.status).toBe(401);
    expect(response.error?.message).toBe("Sign in to continue");
    expect(await usersSnapshot()).toEqual(usersBefore);
    expect(await auditHead()).toBe(head);
  });
});

describe("input validation", () => {
  type FieldError = TrpcResponse["error"] & { data: { fieldErrors: Record<string, string> | null } };

  it("answers users.create with a bad e-mail with 400 naming the field, and creates nothing", async () => {
    const admin = user("admin");
    const usersBefore = await usersSnapshot();
    const head = await auditHead();
    const response = await callProcedure(
      "users.create",
      { email: "not-an-email", name: "Bad Email", roles: ["viewer"] },
      admin.cookie,
    );
    expect(response.status).toBe(400);
    expect(response.error?.message).toBe("Email: must be a valid e-mail address");
    expect(response.error?.data.field).toBe("email");
    expect(await usersSnapshot()).toEqual(usersBefore);
    expect(await auditHead()).toBe(head);
  });

  it("names every bad field when there are several", async () => {
    const response = await callProcedure("users.create", { email: "@", name: "  ", roles: [] }, user("admin").cookie);
    expect(response.status).toBe(400);
    const message = response.error?.message ?? "";
    expect(message).toMatch(/(^|; )Email: must be a valid e-mail address(;|$)/);
    expect(message).toMatch(/(^|; )Name: must not be empty(;|$)/);
    expect(message).toMatch(/(^|; )Roles: must contain at least one role(;|$)/);
    expect((response.error as FieldError).data.fieldErrors).toMatchObject({
      email: expect.any(String),
      name: expect.any(String),
      roles: expect.any(String),
    });
  });

  it("answers users.update with an unknown role with 400 naming roles, and changes nothing", async () => {
    const admin = user("admin");
    const target = user("viewer");
    const usersBefore = await usersSnapshot();
    const head = await auditHead();
    const response = await callProcedure(
      "users.update",
      { id: target.id, roles: ["viewer", "superuser"] },
      admin.cookie,
    );
    expect(response.status).toBe(400);
    expect(response.error?.message).toMatch(/^Roles \(item 2\): must be one of viewer, release_manager, .*admin$/);
    expect(response.error?.data.field).toBe("roles");
    expect((response.error as FieldError).data.fieldErrors).toEqual({ "roles.1": expect.any(String) });
    expect(await usersSnapshot()).toEqual(usersBefore);
    expect(await auditHead()).toBe(head);
  });
});

describe("audit.list input", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      "a date before the year 1 (PostgreSQL cannot compare it)",
      { from: new Date("-001000-01-01T00:00:00.000Z") },
      /^From \(filter\): must be in the year 1 or later$/,
    ],
    ["a NUL character in the free text", { text: "a\u0000b" }, /^Text \(filter\): must not contain a NUL character$/],
    ["a NUL character in the actor", { actor: "\u0000" }, /^Actor \(filter\): must not contain a NUL character$/],
    [
      "a NUL character in the entity id",
      { entityId: "x\u0000" },
      /^Entity \(filter\): must not contain a NUL character$/,
    ],
    [
      "'from' after 'to'",
      { from: new Date("2026-02-01"), to: new Date("2026-01-01") },
      /^From \(filter\): must not be after 'to'$/,
    ],
  ])("refuses %s with 400 naming the field", async (_name, filter, message) => {
    const response = await callProcedure("audit.list", { filter }, user("auditor").cookie);
    expect(response.status).toBe(400);
    expect(response.error?.message).toMatch(message);
    expect(response.error?.data.field).toBe("filter");
  });

  it("accepts the widest dates it allows", async () => {
    const filter = { from: new Date("0001-01-01T00:00:00.000Z"), to: new Date(8.64e15) };
    const response = await callProcedure("audit.list", { filter, limit: 1 }, user("auditor").cookie);
    expect(response.status).toBe(200);
  });
});

describe("an unexpected failure", () => {
  it("answers 500 with no internal detail, logs the detail, and changes nothing", async () => {
    // The database refuses this one change, as it would on a bug or an outage.
    await t.prisma.$executeRawUnsafe(
      `CREATE FUNCTION "test_refuse_user_update"() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'internal detail 7f3a'; END $$ LANGUAGE plpgsql`,
    );
    await t.prisma.$executeRawUnsafe(
      `CREATE TRIGGER "test_refuse_user_update" BEFORE UPDATE ON "User" FOR EACH ROW WHEN (NEW."name" = 'Refused Name') EXECUTE FUNCTION "test_refuse_user_update"()`,
    );
    try {
      const target = user("oncall");
      const usersBefore = await usersSnapshot();
      const head = await auditHead();
      const response = await callProcedure(
        "users.update",
        { id: target.id, name: "Refused Name" },
        user("admin").cookie,
      );
      expect(response.status).toBe(500);
      expect(response.error?.message).toBe("Internal server error");
      expect(JSON.stringify(response.error)).not.toMatch(/internal detail|prisma|invocation|\.ts\b|\/server\//i);
      expect(await usersSnapshot()).toEqual(usersBefore);
      expect(await auditHead()).toBe(head);
      const logged = t.logs
        .map((l) => JSON.parse(l) as { action?: string; metadata?: { path?: string } })
        .filter((l) => l.action === "trpc.error" && l.metadata?.path === "users.update");
      expect(JSON.stringify(logged)).toContain("internal detail 7f3a");
    } finally {
      await t.prisma.$executeRawUnsafe(`DROP TRIGGER "test_refuse_user_update" ON "User"`);
      await t.prisma.$executeRawUnsafe(`DROP FUNCTION "test_refuse_user_update"()`);
    }
  });
});

describe("the last active administrator", () => {
  it("cannot lose the admin role or be deactivated (412, nothing changed), until there is another active administrator", async () => {
    const admin = user("admin");
    // Precondition: the only active administrator in this panel.
    expect(await t.prisma.user.count({ where: { active: true, roles: { has: "admin" } } })).toBe(1);
    const usersBefore = await usersSnapshot();
    const head = await auditHead();

    const demote = await callProcedure("users.update", { id: admin.id, roles: ["viewer"] }, admin.cookie);
    expect(demote.status).toBe(412);
    expect(demote.error?.message).toMatch(
      /^.* is the last active administrator and must keep the administrator role; make someone else an administrator first$/,
    );
    expect(demote.error?.data.field).toBe("roles");
    const deactivate = await callProcedure("users.update", { id: admin.id, active: false }, admin.cookie);
    expect(deactivate.status).toBe(412);
    expect(deactivate.error?.message).toMatch(/^.* is the last active administrator and cannot be deactivated/);
    expect(deactivate.error?.data.field).toBe("active");
    expect(await usersSnapshot()).toEqual(usersBefore);
    expect(await auditHead()).toBe(head);

    // An inactive administrator does not count.
    const second = await t.createUser(["admin"], "Second Admin");
    expect((await callProcedure("users.update", { id: second.id, active: false }, admin.cookie)).status).toBe(200);
    expect((await callProcedure("users.update", { id: admin.id, roles: ["viewer"] }, admin.cookie)).status).toBe(412);
    expect((await t.prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).roles).toEqual(["admin"]);

    // With another active administrator, the first may step down.
    expect((await callProcedure("users.update", { id: second.id, active: true }, admin.cookie)).status).toBe(200);
    const stepDown = await callProcedure("users.update", { id: admin.id, roles: ["viewer"] }, admin.cookie);
    expect(stepDown.status).toBe(200);
    expect((await t.prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).roles).toEqual(["viewer"]);
    // ...and the new last one is protected in turn.
    const secondCookie = await t.signIn(second.email, second.password);
    expect((await callProcedure("users.update", { id: second.id, roles: ["auditor"] }, secondCookie)).status).toBe(412);
  });
});
