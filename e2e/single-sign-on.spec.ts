/**
 * Single sign-on in a browser: a panel of its own, configured with OIDC_* against a small but real
 * OpenID Connect provider on a local port (test/helpers/oidc-issuer.ts), driven through the sign-in
 * page's button, the provider's redirect and next-auth's callback, and out again with "Sign out".
 * (The flow's protocol details, PKCE, state and tampering, are in test/integration/oidc.test.ts.)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { OidcIssuer } from "../test/helpers/oidc-issuer";
import { expect, nav, pageNotice, signIn, test, waitForHydration } from "./fixtures";
import { startPanelProcess, type StartedPanel } from "./panel-process";

const issuer = new OidcIssuer();
let panel: StartedPanel | undefined;
let dataDir: string;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  await issuer.start();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-e2e-sso-"));
  panel = await startPanelProcess({
    DATA_DIR: dataDir,
    OIDC_ISSUER: issuer.url,
    OIDC_CLIENT_ID: issuer.clientId,
    OIDC_CLIENT_SECRET: issuer.clientSecret,
    OIDC_ROLE_MAP: "platform-leads=release_manager+approver,sre=oncall,audit=auditor",
  });
});

test.afterAll(async () => {
  await panel?.stop();
  await issuer.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test("a person signs in with single sign-on, gets the roles their groups map to, and signs out", async ({ page }) => {
  issuer.signInAs({ sub: "lena-7", email: "lena@example.com", name: "Lena Lead", groups: ["platform-leads"] });
  await page.goto(`${panel!.url}/deployments`);
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fdeployments$/);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with single sign-on" }).click();

  // Out to the provider and back through next-auth's callback, to the page asked for.
  await expect(page).toHaveURL(`${panel!.url}/deployments`);
  await expect(page.getByTestId("current-user")).toHaveText("Lena Lead");
  await expect(nav(page).getByRole("link", { name: "Approvals" })).toBeVisible();
  expect(issuer.refusals).toEqual([]);

  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(`${panel!.url}/signin`);
  await page.goto(`${panel!.url}/deployments`);
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fdeployments$/);
});

test("someone the provider still vouches for, whom an administrator deactivated, is refused with a reason", async ({
  page,
  browser,
}) => {
  // Lena signed in once (above). She leaves; an administrator deactivates her in the panel, but her
  // account at the identity provider is still open.
  const admin = await browser.newPage();
  await admin.goto(`${panel!.url}/signin`);
  await signIn(admin, "admin@greenlight.local", panel!.credentials["admin@greenlight.local"]!);
  await admin.goto(`${panel!.url}/admin`);
  const row = admin.getByRole("table", { name: "Users" }).getByRole("row").filter({ hasText: "lena@example.com" });
  admin.once("dialog", (dialog) => void dialog.accept());
  await row.getByRole("button", { name: "Deactivate" }).click();
  await expect(row).toContainText("Deactivated");
  await admin.close();

  issuer.signInAs({ sub: "lena-7", email: "lena@example.com", name: "Lena Lead", groups: ["platform-leads"] });
  await page.goto(`${panel!.url}/signin`);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
  await expect(page).toHaveURL(/\/signin\?error=AccessDenied/);
  await expect(pageNotice(page)).toHaveText("Your account is not allowed to sign in here.");
  await expect(page.getByTestId("current-user")).toHaveCount(0);
});
