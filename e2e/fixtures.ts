import { test as base, expect, type Page } from "@playwright/test";
import { readPanelInfo, type PanelInfo } from "./panel-info";

export { expect };

export const test = base.extend<{ panel: PanelInfo }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright's fixtures take their dependencies as the first argument; these have none
  panel: async ({}, use) => {
    await use(readPanelInfo());
  },
  // eslint-disable-next-line no-empty-pattern -- as above
  baseURL: async ({}, use) => {
    await use(readPanelInfo().url);
  },
  page: async ({ page }, use) => {
    // A page that violates its Content-Security-Policy fails the test that caused it.
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to (execute|load|apply)/i.test(message.text()))
        violations.push(message.text());
    });
    await use(page);
    expect(violations, "CSP violations").toEqual([]);
  },
});

export function demoPassword(panel: PanelInfo, email: string): string {
  const password = panel.credentials[email];
  if (!password) throw new Error(`No demo password for ${email} was printed`);
  return password;
}

/** Signs in through the form; stays on a sign-in page that is already open (keeping its callbackUrl). */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  if (!new URL(page.url(), "http://x").pathname.startsWith("/signin")) await page.goto("/signin");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("current-user")).toBeVisible();
  await waitForHydration(page);
}

/** The page's own notice (Notice with role alert): Next's route announcer is an empty alert of its own. */
export function pageNotice(page: Page) {
  return page.getByRole("alert").filter({ hasText: /\S/ });
}

/** Resolves once React handles events on the page (app/_components/HydrationMark.tsx). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}

export function nav(page: Page) {
  return page.getByRole("navigation", { name: "Main" });
}

export async function signInAs(page: Page, panel: PanelInfo, role: string): Promise<void> {
  const email = `${role.replace(/_/g, "-")}@greenlight.local`;
  await signIn(page, email, demoPassword(panel, email));
}
