import { demoPassword, expect, nav, pageNotice, signIn, signInAs, test, waitForHydration } from "./fixtures";

function navNames(page: import("@playwright/test").Page) {
  return nav(page).getByRole("link").allTextContents();
}

test("a release manager signs in, sees the release navigation, and signs out", async ({ page, panel }) => {
  await page.goto("/deployments");
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fdeployments$/);
  await signInAs(page, panel, "release_manager");
  await expect(page).toHaveURL(/\/deployments$/);
  await expect(page.getByTestId("current-user")).toHaveText("Demo Release manager");
  expect(await navNames(page)).toEqual(["Overview", "Deployments", "Approvals", "Maintenance", "Delivery"]);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);
});

test("a click that comes before the page's scripts have run waits for them instead of being lost", async ({
  page,
  panel,
}) => {
  await signInAs(page, panel, "release_manager");
  // Hold the next page's scripts back, as a slow network or a busy machine does.
  let releaseScripts!: () => void;
  const scriptsReleased = new Promise<void>((resolve) => (releaseScripts = resolve));
  await page.route("**/_next/static/**/*.js", async (route) => {
    await scriptsReleased;
    await route.continue();
  });
  await page.goto("/", { waitUntil: "domcontentloaded" });
  const newService = page.getByRole("button", { name: "New service" });
  await expect(newService).toBeVisible();
  await expect(page.locator("html")).not.toHaveAttribute("data-hydrated");
  // The server's button is on screen without its handler: it takes no click yet.
  expect(await newService.evaluate((button) => getComputedStyle(button).pointerEvents)).toBe("none");
  const click = newService.click();
  releaseScripts();
  await click;
  await expect(page.getByRole("form", { name: "New service" }).getByLabel("Name")).toBeVisible();
  await page.unrouteAll({ behavior: "wait" });
});

test("an auditor sees the audit log but not administration, and the chain verifies", async ({ page, panel }) => {
  await signInAs(page, panel, "auditor");
  expect(await navNames(page)).toEqual(["Overview", "Deployments", "Maintenance", "Audit"]);
  await nav(page).getByRole("link", { name: "Audit" }).click();
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Audit events" }).getByText("auth.signed_in").first()).toBeVisible();
  await page.getByRole("button", { name: "Verify chain" }).click();
  await expect(page.getByTestId("chain-status")).toHaveText("Chain intact");

  // Administration is refused on the server, not just hidden.
  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "Not available to you" })).toBeVisible();
  const response = await page.request.get("/api/trpc/users.list");
  expect(response.status()).toBe(403);
});

test("a wrong password shows an error, and the failure is in the audit log", async ({ page, panel, browser }) => {
  await page.goto("/signin");
  await page.getByLabel("E-mail").fill("approver@greenlight.local");
  await page.getByLabel("Password").fill("not-the-right-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Wrong e-mail or password" })).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);

  const auditor = await browser.newPage();
  await signInAs(auditor, panel, "auditor");
  await auditor.goto("/audit");
  await auditor.getByLabel("Action").fill("auth.signin_failed");
  await auditor.getByRole("button", { name: "Filter" }).click();
  const row = auditor
    .getByRole("table", { name: "Audit events" })
    .getByRole("row")
    .filter({ hasText: "approver@greenlight.local" });
  await expect(row.first()).toContainText("wrong_password");
  await auditor.close();
});

test("past five wrong passwords for one account the sign-in page says there were too many", async ({ page }) => {
  // An address of its own, so the throttle this test trips holds no one else back.
  const email = `locked-out-${Date.now()}@example.test`;
  await page.goto("/signin");
  await waitForHydration(page);
  const notice = pageNotice(page);
  const attempt = async (password: string) => {
    await page.getByLabel("E-mail").fill(email);
    await page.getByLabel("Password").fill(password);
    const answered = page.waitForResponse((r) => r.url().endsWith("/api/auth/callback/credentials"));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    return (await answered).status();
  };
  for (let tries = 1; tries <= 5; tries++) {
    expect(await attempt(`wrong-${tries}`)).toBe(401);
    await expect(notice).toHaveText("Wrong e-mail or password, or the account is deactivated.");
  }
  expect(await attempt("wrong-6")).toBe(429);
  await expect(notice).toHaveText("Too many failed sign-ins. Try again later.");
  await expect(page).toHaveURL(/\/signin$/);
});

test("pages carry the security headers and a nonce-based policy that the page itself satisfies", async ({ page }) => {
  const response = (await page.goto("/signin"))!;
  const headers = response.headers();
  expect(headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  const csp = headers["content-security-policy"]!;
  expect(csp).toMatch(/default-src 'self'/);
  const nonce = /'nonce-([^']+)'/.exec(csp)![1];
  expect(await page.locator(`script[nonce]`).count()).toBeGreaterThan(0);
  // The browser hides nonce attributes from the DOM; the HTML sent carries the header's nonce.
  expect(await response.text()).toContain(`nonce="${nonce}"`);
});

test("an administrator adds a person, who signs in with the password shown once", async ({ page, panel, browser }) => {
  await signIn(page, "admin@greenlight.local", demoPassword(panel, "admin@greenlight.local"));
  await nav(page).getByRole("link", { name: "Admin" }).click();
  const form = page.getByRole("form", { name: "Add a person" });
  await form.getByLabel("Name").fill("Grace Hopper");
  await form.getByLabel("E-mail").fill("grace@example.test");
  await form.getByLabel("Approver", { exact: true }).check();
  await form.getByLabel("Security reviewer").check();
  await form.getByRole("button", { name: "Add person" }).click();
  const password = (await page.getByTestId("shown-password").textContent())!;
  await expect(page.getByTestId("user-grace@example.test")).toContainText("Security reviewer");

  const grace = await browser.newPage();
  await signIn(grace, "grace@example.test", password);
  expect(await navNames(grace)).toEqual(["Overview", "Deployments", "Approvals", "Maintenance"]);
  await grace.close();

  // A bad e-mail is refused with a message naming the field, and nobody is added.
  await form.getByLabel("Name").fill("Nobody");
  await form.getByLabel("E-mail").fill("not-an-email");
  await form.getByLabel("Viewer", { exact: true }).check();
  await form.evaluate((f: HTMLFormElement) => (f.noValidate = true));
  await form.getByRole("button", { name: "Add person" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Email: must be a valid e-mail address" })).toBeVisible();
});

/** Values a browser reads as another host once it resolves them (issue 10, Medium 3). */
const OFF_SITE_CALLBACKS = ["/%5Cevil.example/phish", "/%09/evil.example", "/%5C/evil.example"];

test("a callbackUrl that a browser would read as another host never takes it off the panel, signed in or not", async ({
  browser,
  panel,
}) => {
  const origin = new URL(panel.url).origin;
  for (const callback of OFF_SITE_CALLBACKS) {
    const page = await browser.newPage();
    // Signing in: the sign-in page follows the callbackUrl in the browser.
    await page.goto(`/signin?callbackUrl=${callback}`);
    await signInAs(page, panel, "viewer");
    expect(new URL(page.url()).origin, callback).toBe(origin);
    // Already signed in: the server sends the browser on from /signin.
    const redirect = await page.request.get(`/signin?callbackUrl=${callback}`, { maxRedirects: 0 });
    expect(redirect.status(), callback).toBe(302);
    expect(redirect.headers().location, callback).toBe("/");
    await page.goto(`/signin?callbackUrl=${callback}`);
    expect(new URL(page.url()).origin, callback).toBe(origin);
    await page.close();
  }
});
