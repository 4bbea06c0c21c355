/**
 * Single sign-on end to end: the panel configured with OIDC_* against a real (small) OpenID Connect
 * provider on a local port, the authorization-code flow with PKCE and state driven over HTTP as a
 * browser follows redirects, and the identity provider's groups mapped to roles by OIDC_ROLE_MAP at
 * every sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OidcIssuer, type OidcUser } from "../helpers/oidc-issuer.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { panelClient, refusal } from "../helpers/panel-client.ts";

let t: TestPanel;
const issuer = new OidcIssuer();

beforeAll(async () => {
  await issuer.start();
  t = await startTestPanel({
    OIDC_ISSUER: issuer.url,
    OIDC_CLIENT_ID: issuer.clientId,
    OIDC_CLIENT_SECRET: issuer.clientSecret,
    OIDC_ROLE_MAP: "platform-leads=release_manager+approver,sre=oncall,audit=auditor",
  });
});
afterAll(async () => {
  await t?.close();
  await issuer.close();
});

/** A browser's cookie jar for one origin, enough for next-auth's cookies. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): Response {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

/** Clicks "Single sign-on" and follows the redirects; returns the jar and where the flow ended. */
async function signInWithSso(
  user: OidcUser,
  options: { tamper?: (callback: URL) => void; callbackInAnotherBrowser?: boolean } = {},
): Promise<{ jar: Jar; landedOn: URL }> {
  issuer.signInAs(user);
  let jar = new Jar();
  const { csrfToken } = (await jar.take(await fetch(`${t.url}/api/auth/csrf`)).json()) as { csrfToken: string };
  const start = jar.take(
    await fetch(`${t.url}/api/auth/signin/oidc`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header() },
      body: new URLSearchParams({ csrfToken, callbackUrl: `${t.url}/`, json: "true" }),
    }),
  );
  const authorize = new URL(((await start.json()) as { url: string }).url);
  expect(authorize.origin).toBe(issuer.url);
  // The code flow with PKCE (S256) and state, as the README promises.
  expect(authorize.searchParams.get("response_type")).toBe("code");
  expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
  expect(authorize.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(authorize.searchParams.get("state")).toBeTruthy();
  // The provider's answer: back to the panel with a code.
  const atIssuer = await fetch(authorize, { redirect: "manual" });
  expect(atIssuer.status).toBe(302);
  const callback = new URL(atIssuer.headers.get("location")!);
  // Back to the panel's callback (under its public URL, which names localhost).
  expect([callback.port, callback.pathname]).toEqual([new URL(t.url).port, "/api/auth/callback/oidc"]);
  options.tamper?.(callback);
  // Login CSRF: someone else's browser is made to open the callback.
  if (options.callbackInAnotherBrowser) jar = new Jar();
  // Follow the panel's own redirects (a refusal passes through /api/auth/error) to the page shown.
  let next = callback;
  for (let hops = 0; next.pathname.startsWith("/api/auth/"); hops++) {
    expect(hops).toBeLessThan(5);
    const response = jar.take(await fetch(next, { redirect: "manual", headers: { Cookie: jar.header() } }));
    expect(response.status).toBe(302);
    next = new URL(response.headers.get("location")!, t.url);
  }
  return { jar, landedOn: next };
}

const sessionOf = (jar: Jar) => {
  const token = jar.get("next-auth.session-token");
  return token ? `next-auth.session-token=${token}` : null;
};

describe("single sign-on through OpenID Connect", () => {
  const olivia: OidcUser = {
    sub: "idp|olivia",
    email: "Olivia.Ops@Example.test",
    name: "Olivia Ops",
    groups: ["platform-leads", "unmapped-group"],
  };

  it("signs a new person in with the roles their groups map to, and audits it", async () => {
    const { jar, landedOn } = await signInWithSso(olivia);
    expect(landedOn.pathname).toBe("/");
    const cookie = sessionOf(jar);
    expect(cookie).not.toBeNull();
    const me = await panelClient(t.url, cookie!).me.get.query();
    expect(me).toMatchObject({ email: "olivia.ops@example.test", roles: ["approver", "release_manager"] });
    const user = await t.prisma.user.findUniqueOrThrow({ where: { externalId: "idp|olivia" } });
    expect(user).toMatchObject({
      provider: "oidc",
      passwordHash: null,
      email: "olivia.ops@example.test",
      name: "Olivia Ops",
    });
    const actions = (await t.prisma.auditEvent.findMany({ where: { entityId: user.id }, orderBy: { seq: "asc" } })).map(
      (e) => e.action,
    );
    expect(actions).toEqual(["user.created", "auth.signed_in"]);
    expect(issuer.refusals).toEqual([]);
  });

  it("re-reads the groups at the next sign-in: new roles, and the change is audited", async () => {
    const { jar } = await signInWithSso({ ...olivia, groups: ["sre"] });
    const me = await panelClient(t.url, sessionOf(jar)!).me.get.query();
    expect(me.roles).toEqual(["oncall"]);
    const user = await t.prisma.user.findUniqueOrThrow({ where: { externalId: "idp|olivia" } });
    const change = await t.prisma.auditEvent.findFirstOrThrow({
      where: { entityId: user.id, action: "user.roles_changed" },
    });
    expect(change.before).toEqual({ roles: ["approver", "release_manager"] });
    expect(change.after).toEqual({ roles: ["oncall"], source: "identity provider groups" });
    expect(await t.prisma.user.count({ where: { email: "olivia.ops@example.test" } })).toBe(1);
  });

  it("gives someone in no mapped group the viewer role only", async () => {
    const { jar } = await signInWithSso({
      sub: "idp|vic",
      email: "vic@example.test",
      name: "Vic",
      groups: ["marketing"],
    });
    const vic = panelClient(t.url, sessionOf(jar)!);
    expect((await vic.me.get.query()).roles).toEqual(["viewer"]);
    const forbidden = await refusal(vic.users.list.query());
    expect(forbidden.status).toBe(403);
  });

  it("refuses a deactivated person and audits the refusal", async () => {
    await signInWithSso({ sub: "idp|dora", email: "dora@example.test", name: "Dora", groups: ["audit"] });
    const dora = await t.prisma.user.update({ where: { externalId: "idp|dora" }, data: { active: false } });
    const { jar, landedOn } = await signInWithSso({
      sub: "idp|dora",
      email: "dora@example.test",
      name: "Dora",
      groups: ["audit"],
    });
    expect(sessionOf(jar)).toBeNull();
    expect(landedOn.pathname).toBe("/signin");
    expect(landedOn.searchParams.get("error")).toBe("AccessDenied");
    const refusal = await t.prisma.auditEvent.findFirstOrThrow({
      where: { entityId: dora.id, action: "auth.signin_failed" },
    });
    expect(refusal.after).toMatchObject({ reason: "inactive", provider: "oidc" });
  });

  it.for<[string, Parameters<typeof signInWithSso>[1]]>([
    ["whose state was tampered with", { tamper: (callback) => callback.searchParams.set("state", "forged") }],
    ["opened in another browser than the one that started (login CSRF)", { callbackInAnotherBrowser: true }],
  ])("refuses a callback %s, and signs nobody in", async ([, options]) => {
    const before = await t.prisma.user.count();
    const { jar, landedOn } = await signInWithSso(
      { sub: "idp|mallory", email: "mallory@example.test", name: "Mallory", groups: ["platform-leads"] },
      options,
    );
    expect(sessionOf(jar)).toBeNull();
    expect(landedOn.pathname).toBe("/signin");
    expect(landedOn.searchParams.get("error")).toBeTruthy();
    expect(await t.prisma.user.count()).toBe(before);
  });
});
