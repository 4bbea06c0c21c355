/** tRPC calls from a signed-in page's own session (superjson's plain-JSON envelope). */
import { expect, type Browser, type Page } from "@playwright/test";
import { sameOrigin, signInOverHttp } from "../test/helpers/http-auth";
import { demoPassword } from "./fixtures";
import { readPanelInfo, type PanelInfo } from "./panel-info";

/**
 * Headers of a tRPC mutation sent from the panel's own page: the panel acts on a session cookie only
 * for requests whose Origin names it, as a browser's fetch does (Playwright's request API sends none).
 */
export function jsonFromPanel(): Record<string, string> {
  return { "Content-Type": "application/json", Origin: new URL(readPanelInfo().url).origin };
}

/** Environments whose demo traffic a spec in this worker turned on through `api`, until it turns it off. */
const trafficOn = new Set<string>();

export async function api<T = unknown>(
  page: Page,
  path: string,
  input?: unknown,
  method: "query" | "mutation" = "mutation",
): Promise<T> {
  if (path === "environments.setTrafficGenerator") {
    const { environmentId, enabled } = input as { environmentId: string; enabled: boolean };
    if (enabled) trafficOn.add(environmentId);
    else trafficOn.delete(environmentId);
  }
  const response =
    method === "query"
      ? await page.request.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input ?? null }))}`)
      : await page.request.post(`/api/trpc/${path}`, { data: { json: input }, headers: jsonFromPanel() });
  const body = (await response.json()) as {
    result?: { data: { json: unknown } };
    error?: { json: { message: string } };
  };
  if (!response.ok()) throw new Error(`${path}: HTTP ${response.status()} ${body.error?.json.message}`);
  return body.result!.data.json as T;
}

/**
 * Turns off the demo traffic this spec turned on (and that of `environmentIds`, turned on in the UI).
 * The shared panel outlives each spec: traffic left on went on through every environment's proxy, demo
 * service and recorder for the rest of the run, a load that grew with each spec on a two-core machine.
 */
export async function stopDemoTraffic(browser: Browser, panel: PanelInfo, environmentIds: string[] = []) {
  const ids = [...new Set([...trafficOn, ...environmentIds])];
  if (ids.length === 0) return;
  const rm = await signedIn(browser, panel, "release_manager");
  try {
    for (const environmentId of ids)
      await api(rm, "environments.setTrafficGenerator", { environmentId, enabled: false });
  } finally {
    await rm.close();
  }
}

/**
 * A new page signed in as the demo user of `role`, on no page yet (callers go where they act). It
 * signs in over HTTP as the form posts it (test/helpers/http-auth.ts) and puts the session cookie in
 * the page's own cookie jar: a spec that needs a user to act spends no page loads on the sign-in form.
 * The form is what auth.spec tests, and the release journey and the 390-px navigation check sign in
 * through it. A form sign-in loads two pages (the form, then the home page), and each page load costs
 * Chromium about a CPU-second here, ten times what it costs the panel.
 */
export async function signedIn(browser: Browser, panel: PanelInfo, role: string): Promise<Page> {
  const page = await browser.newPage();
  await signInOverHttpAs(page, panel, role);
  return page;
}

/** The same sign-in, into an open page's cookie jar (the test's own `page`); it loads no page. */
export async function signInOverHttpAs(page: Page, panel: PanelInfo, role: string): Promise<void> {
  const email = `${role.replace(/_/g, "-")}@greenlight.local`;
  const cookie = await signInOverHttp(panel.url, email, demoPassword(panel, email), sameOrigin(panel.url));
  if (!cookie) throw new Error(`The panel refused the sign-in of ${email}`);
  const separator = cookie.indexOf("=");
  await page
    .context()
    .addCookies([{ name: cookie.slice(0, separator), value: cookie.slice(separator + 1), url: panel.url }]);
  const session = (await (await page.request.get("/api/auth/session")).json()) as { user?: { email?: string } };
  expect(session.user?.email, `the session after signing in as ${email}`).toBe(email);
}

/**
 * What a production deployment needs before it may start: an approved standard change request
 * and a complete checklist (manual items ticked, automatic ones evidenced by CI with `token`).
 */
export async function approveForProduction(
  browser: Browser,
  panel: PanelInfo,
  rm: Page,
  input: { releaseId: string; environmentId: string; token: string; title: string },
) {
  const items = await api<{ key: string; kind: string }[]>(
    rm,
    "checklist.get",
    { releaseId: input.releaseId, environmentId: input.environmentId },
    "query",
  );
  for (const item of items) {
    if (item.kind === "manual")
      await api(rm, "checklist.tick", {
        releaseId: input.releaseId,
        environmentId: input.environmentId,
        key: item.key,
        done: true,
        note: "verified",
      });
    else {
      const response = await rm.request.post(`/api/v1/releases/${input.releaseId}/evidence`, {
        data: { item: item.key, status: "passed" },
        headers: { Authorization: `Bearer ${input.token}` },
      });
      expect(response.status()).toBe(200);
    }
  }
  const change = await api<{ id: string }>(rm, "changes.create", {
    releaseId: input.releaseId,
    environmentId: input.environmentId,
    type: "standard",
    title: input.title,
  });
  const approver = await signedIn(browser, panel, "approver");
  await api(approver, "changes.approve", { id: change.id });
  await approver.close();
}
