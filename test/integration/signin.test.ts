import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSession } from "../../server/auth/session.ts";
import { postCredentials, signInOverHttp, startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { trpcMutation, trpcQuery } from "../helpers/trpc.ts";

let t: TestPanel;
beforeAll(async () => {
  // TRUST_PROXY lets each scenario come from its own address through X-Forwarded-For.
  t = await startTestPanel({ TRUST_PROXY: "true", SESSION_MAX_AGE: "1h" });
});
afterAll(() => t?.close());

const from = (ip: string) => ({ "X-Forwarded-For": ip });

describe("password sign-in", () => {
  it("signs in with the right password and reads the user's current roles", async () => {
    const user = await t.createUser(["release_manager", "approver"], "Rita Release");
    const me = await trpcQuery<{ email: string; roles: string[] }>(t.url, "me.get", undefined, user.cookie);
    expect(me.status).toBe(200);
    expect(me.data).toMatchObject({ email: user.email, roles: ["release_manager", "approver"] });
    const event = await t.prisma.auditEvent.findFirst({ where: { action: "auth.signed_in", entityId: user.id } });
    expect(event).toMatchObject({ actorId: user.id, ip: "127.0.0.1" });
  });

  it("refuses a wrong password, audits the failure and never stores the password", async () => {
    const user = await t.createUser(["viewer"]);
    const response = await postCredentials(t.url, user.email, "definitely-wrong-password", from("10.1.0.1"));
    expect(response.headers.getSetCookie().some((c) => c.startsWith("next-auth.session-token="))).toBe(false);
    const body = (await response.json()) as { url: string };
    expect(new URL(body.url).searchParams.get("error")).toBe("CredentialsSignin");
    const failure = await t.prisma.auditEvent.findFirst({ where: { action: "auth.signin_failed", entityId: user.id } });
    expect(failure).toMatchObject({ ip: "10.1.0.1", after: { email: user.email, reason: "wrong_password", provider: "credentials" } });
    const everything = JSON.stringify(await t.prisma.auditEvent.findMany(), (_k, v) => (typeof v === "bigint" ? String(v) : v));
    expect(everything).not.toContain("definitely-wrong-password");
    expect(everything).not.toContain(user.password);
  });

  it("audits an attempt on an account that does not exist", async () => {
    await postCredentials(t.url, "nobody@example.test", "whatever-password", from("10.1.0.2"));
    const failure = await t.prisma.auditEvent.findFirst({ where: { action: "auth.signin_failed", actorEmail: "nobody@example.test" } });
    expect(failure).toMatchObject({ entityId: null, after: { reason: "unknown_account" } });
  });

  it("throttles an account after 5 failures in a minute with 429 and Retry-After, even for the right password", async () => {
    const user = await t.createUser(["viewer"]);
    for (let i = 0; i < 5; i++) {
      const r = await postCredentials(t.url, user.email, `wrong-${i}`, from(`10.2.0.${i + 1}`));
      expect(r.status).not.toBe(429);
    }
    const blocked = await postCredentials(t.url, user.email, user.password, from("10.2.0.99"));
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await blocked.json()) as { message: string }).message).toMatch(/Too many failed sign-ins for this account/);
    expect(await t.prisma.auditEvent.count({ where: { action: "auth.signin_throttled", actorEmail: user.email } })).toBe(1);
  });

  it("throttles an address after 5 failures in a minute across accounts", async () => {
    const victim = await t.createUser(["viewer"]);
    for (let i = 0; i < 5; i++) await postCredentials(t.url, `unknown-${i}@example.test`, "nope", from("10.3.0.7"));
    const blocked = await postCredentials(t.url, victim.email, victim.password, from("10.3.0.7"));
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { message: string }).message).toMatch(/for this address/);
    // Another address is not affected.
    expect(await signInOverHttp(t.url, victim.email, victim.password)).toMatch(/^next-auth.session-token=/);
  });
});

describe("sessions", () => {
  it("expire SESSION_MAX_AGE after sign-in", async () => {
    const user = await t.createUser(["viewer"]);
    const settings = { secret: t.panel.services.auth.secret, maxAgeSeconds: 3600, secureCookies: false };
    expect(await readSession(t.prisma, user.cookie, settings)).toMatchObject({ id: user.id });
    expect(await readSession(t.prisma, user.cookie, settings, Date.now() + 3601_000)).toBeNull();
  });

  it("end at once when the user is deactivated, and when their password is reset", async () => {
    const admin = await t.createUser(["admin"]);
    const a = await t.createUser(["viewer"]);
    const b = await t.createUser(["viewer"]);
    expect((await trpcMutation(t.url, "users.update", { id: a.id, active: false }, admin.cookie)).status).toBe(200);
    expect((await trpcQuery(t.url, "me.get", undefined, a.cookie)).status).toBe(401);
    const reset = await trpcMutation<{ newPassword: string }>(t.url, "users.resetPassword", { id: b.id }, admin.cookie);
    expect(reset.status).toBe(200);
    expect((await trpcQuery(t.url, "me.get", undefined, b.cookie)).status).toBe(401);
    expect(await signInOverHttp(t.url, b.email, reset.data!.newPassword)).toMatch(/^next-auth.session-token=/);
  });

  it("end on sign-out, which is audited", async () => {
    const user = await t.createUser(["viewer"]);
    const csrf = await fetch(`${t.url}/api/auth/csrf`, { headers: { Cookie: user.cookie } });
    const cookies = [user.cookie, ...csrf.headers.getSetCookie().map((c) => c.split(";")[0])].join("; ");
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const out = await fetch(`${t.url}/api/auth/signout`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies },
      body: new URLSearchParams({ csrfToken, json: "true" }),
    });
    expect(out.headers.getSetCookie().find((c) => c.startsWith("next-auth.session-token="))).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    expect(await t.prisma.auditEvent.count({ where: { action: "auth.signed_out", entityId: user.id } })).toBe(1);
  });
});
