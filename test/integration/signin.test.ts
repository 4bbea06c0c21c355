import { randomUUID } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSession } from "../../server/auth/session.ts";
import { postCredentials, signInOverHttp, signOutOverHttp, startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { panelClient, refusal } from "../helpers/panel-client.ts";

let t: TestPanel;
beforeAll(async () => {
  // TRUST_PROXY lets each scenario come from its own address through X-Forwarded-For.
  t = await startTestPanel({ TRUST_PROXY: "true", SESSION_MAX_AGE: "1h", SIGNIN_MAX_FAILURES_PER_ADDRESS: "8" });
});
afterAll(() => t?.close());

const from = (ip: string) => ({ "X-Forwarded-For": ip });

describe("password sign-in", () => {
  it("signs in with the right password and reads the user's current roles", async () => {
    const user = await t.createUser(["release_manager", "approver"], "Rita Release");
    const me = await user.client.me.get.query();
    expect(me).toMatchObject({ email: user.email, roles: ["release_manager", "approver"] });
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
    expect(failure).toMatchObject({
      ip: "10.1.0.1",
      after: { email: user.email, reason: "wrong_password", provider: "credentials" },
    });
    const everything = JSON.stringify(await t.prisma.auditEvent.findMany(), (_k, v) =>
      typeof v === "bigint" ? String(v) : v,
    );
    expect(everything).not.toContain("definitely-wrong-password");
    expect(everything).not.toContain(user.password);
  });

  it("audits an attempt on an account that does not exist", async () => {
    await postCredentials(t.url, "nobody@example.test", "whatever-password", from("10.1.0.2"));
    const failure = await t.prisma.auditEvent.findFirst({
      where: { action: "auth.signin_failed", actorEmail: "nobody@example.test" },
    });
    expect(failure).toMatchObject({ entityId: null, after: { reason: "unknown_account" } });
  });

  it("throttles an account from one address after 5 failures in a minute with 429 and Retry-After, even for the right password", async () => {
    const user = await t.createUser(["viewer"]);
    for (let i = 0; i < 5; i++) {
      const r = await postCredentials(t.url, user.email, `wrong-${i}`, from("10.2.0.1"));
      expect(r.status).not.toBe(429);
    }
    const blocked = await postCredentials(t.url, user.email, user.password, from("10.2.0.1"));
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await blocked.json()) as { message: string }).message).toMatch(
      /Too many failed sign-ins for this account/,
    );
    expect(
      await t.prisma.auditEvent.count({ where: { action: "auth.signin_throttled", actorEmail: user.email } }),
    ).toBe(1);
    // The owner, from their own address, is not locked out by someone else's guesses.
    expect(await signInOverHttp(t.url, user.email, user.password)).toMatch(/^next-auth.session-token=/);
  });

  it("lets 30 parallel wrong passwords for one account compare at most 5 passwords (check and count are one step)", async () => {
    const user = await t.createUser(["viewer"]);
    const checksBefore = await passwordChecks();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => postCredentials(t.url, user.email, `parallel-wrong-${i}`, from("10.5.0.1"))),
    );
    const statuses = answers.map((a) => a.status);
    expect(await passwordChecks()).toBeLessThanOrEqual(checksBefore + 5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(25);
    expect(
      await t.prisma.auditEvent.count({ where: { action: "auth.signin_failed", entityId: user.id } }),
    ).toBeLessThanOrEqual(5);
    expect(await t.prisma.signInFailure.count({ where: { identifier: user.email } })).toBeLessThanOrEqual(5);
  });

  it("gives back the reservation of an attempt refused before its password was compared", async () => {
    const user = await t.createUser(["viewer"]);
    const checksBefore = await passwordChecks();
    // No CSRF token: next-auth refuses it without calling authorize.
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${t.url}/api/auth/callback/credentials`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...from("10.6.0.1") },
        body: new URLSearchParams({ email: user.email, password: "whatever", json: "true" }),
      });
      expect(r.status).not.toBe(429);
    }
    expect(await passwordChecks()).toBe(checksBefore);
    expect(await t.prisma.signInFailure.count({ where: { identifier: user.email } })).toBe(0);
  });

  it("throttles an address across accounts only at its own, higher limit", async () => {
    const victim = await t.createUser(["viewer"]);
    // SIGNIN_MAX_FAILURES_PER_ADDRESS is 8 here: 5 failures on other accounts leave the address open…
    for (let i = 0; i < 5; i++) await postCredentials(t.url, `unknown-${i}@example.test`, "nope", from("10.3.0.7"));
    expect(await signInOverHttp(t.url, victim.email, victim.password, from("10.3.0.7"))).toMatch(
      /^next-auth.session-token=/,
    );
    // …and 8 close it for every account from there.
    for (let i = 5; i < 8; i++) await postCredentials(t.url, `unknown-${i}@example.test`, "nope", from("10.3.0.7"));
    const blocked = await postCredentials(t.url, victim.email, victim.password, from("10.3.0.7"));
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { message: string }).message).toMatch(/for this address/);
    // Another address is not affected.
    expect(await signInOverHttp(t.url, victim.email, victim.password)).toMatch(/^next-auth.session-token=/);
  });
});

/** The panel's count of password comparisons, read from /metrics. */
async function passwordChecks(): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return Number(/^greenlight_password_checks_total (\d+)/m.exec(text)?.[1] ?? "0");
}

describe("sessions", () => {
  it("expire SESSION_MAX_AGE after sign-in", async () => {
    const user = await t.createUser(["viewer"]);
    const settings = { secret: t.panel.services.auth.secret, maxAgeSeconds: 3600, secureCookies: false };
    expect(await readSession(t.prisma, user.cookie, settings)).toMatchObject({ id: user.id });
    expect(await readSession(t.prisma, user.cookie, settings, Date.now() + 3601_000)).toBeNull();
  });

  it("are refused once the cookie itself has expired, also when the same cookie was read before", async () => {
    const user = await t.createUser(["viewer"]);
    const secret = t.panel.services.auth.secret;
    const settings = { secret, maxAgeSeconds: 3600, secureCookies: false };
    const { sessionId } = (await readSession(t.prisma, user.cookie, settings))!;
    // A cookie that next-auth issued for a minute (its exp), inside a session that lasts an hour.
    const token = await encode({ token: { sub: user.id, sid: sessionId, authTime: Date.now() }, secret, maxAge: 60 });
    const cookie = `next-auth.session-token=${token}`;
    expect(await readSession(t.prisma, cookie, settings)).toMatchObject({ id: user.id });
    // The decrypted cookie is kept between requests; its exp (plus next-auth's 15 s of skew) still holds.
    expect(await readSession(t.prisma, cookie, settings, Date.now() + 70_000)).toMatchObject({ id: user.id });
    expect(await readSession(t.prisma, cookie, settings, Date.now() + 76_000)).toBeNull();
  });

  it("end at once when the user is deactivated, and when their password is reset", async () => {
    const admin = await t.createUser(["admin"]);
    const a = await t.createUser(["viewer"]);
    const b = await t.createUser(["viewer"]);
    await admin.client.users.update.mutate({ id: a.id, active: false });
    expect((await refusal(a.client.me.get.query())).status).toBe(401);
    const reset = await admin.client.users.resetPassword.mutate({ id: b.id });
    expect((await refusal(b.client.me.get.query())).status).toBe(401);
    expect(await signInOverHttp(t.url, b.email, reset.newPassword)).toMatch(/^next-auth.session-token=/);
  });

  it("end on sign-out, which is audited", async () => {
    const user = await t.createUser(["viewer"]);
    const out = await signOutOverHttp(t.url, user.cookie);
    expect(out.headers.getSetCookie().find((c) => c.startsWith("next-auth.session-token="))).toMatch(
      /Max-Age=0|Expires=Thu, 01 Jan 1970/i,
    );
    expect(await t.prisma.auditEvent.count({ where: { action: "auth.signed_out", entityId: user.id } })).toBe(1);
    // A copy of the cookie taken before signing out no longer works: the session ended on the server.
    expect((await refusal(user.client.me.get.query())).status).toBe(401);
    expect(await t.prisma.userSession.count({ where: { userId: user.id, endReason: "signed_out" } })).toBe(1);
  });

  it("other than the one in use end when the user changes their own password; the change is audited with how many ended", async () => {
    const user = await t.createUser(["viewer"]);
    const elsewhere = await t.signIn(user.email, user.password);
    const changed = await user.client.me.changePassword.mutate({
      currentPassword: user.password,
      newPassword: "another-password-42",
    });
    expect(changed).toMatchObject({ endedSessions: 1 });
    expect((await refusal(panelClient(t.url, elsewhere).me.get.query())).status).toBe(401);
    await user.client.me.get.query();
    const event = await t.prisma.auditEvent.findFirstOrThrow({
      where: { action: "user.password_changed", entityId: user.id },
    });
    expect(event.after).toMatchObject({ endedSessions: 1 });
    expect(await signInOverHttp(t.url, user.email, "another-password-42")).toMatch(/^next-auth.session-token=/);
  });

  it("are refused when the cookie names no live session (a forged or pre-upgrade cookie without a session id)", async () => {
    const user = await t.createUser(["viewer"]);
    const token = await encode({ token: { sub: user.id, authTime: Date.now() }, secret: t.panel.services.auth.secret });
    expect((await refusal(panelClient(t.url, `next-auth.session-token=${token}`).me.get.query())).status).toBe(401);
    const forged = await encode({
      token: { sub: user.id, sid: randomUUID(), authTime: Date.now() },
      secret: t.panel.services.auth.secret,
    });
    expect((await refusal(panelClient(t.url, `next-auth.session-token=${forged}`).me.get.query())).status).toBe(401);
  });
});
