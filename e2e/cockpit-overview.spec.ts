/**
 * The release manager's cockpit (issue 12): the overview as a table of services × environments, the
 * approvals inbox and its confirmations, narrow screens and icons, and the policy form's empty fields.
 * Each test builds its own services; names carry a run id so parallel specs never collide.
 */
import { randomBytes } from "node:crypto";
import type { Request } from "@playwright/test";
import { DEFAULT_GATES } from "../server/releases/policy";
import { api, signInOverHttpAs } from "./api";
import { expect, nav, signInAs, test } from "./fixtures";
import { wordsBrokenInTables } from "./layout";

test.describe.configure({ mode: "serial" });

const RUN = randomBytes(3).toString("hex");

/** Holds a deployment once its traffic has moved: validation lasts an hour. */
const HOLDING_POLICY = {
  steps: [10, 50, 100],
  bakeSeconds: 3600,
  gates: { ...DEFAULT_GATES, minRequests: 5 },
  validationSeconds: 3600,
  scaleDownDelaySeconds: 60,
  greenReadyTimeoutSeconds: 60,
  smokeTests: [],
};

type Detail = { id: string; environments: { id: string; name: string }[] };

test("the overview is a table of services × environments: live release, deployment in progress and its step, last result, pending approvals, with links; it sorts and filters", async ({
  page,
  panel,
}) => {
  test.setTimeout(180_000);
  await signInOverHttpAs(page, panel, "release_manager");
  const alpha = await api<{ id: string }>(page, "services.create", {
    name: `Cockpit ${RUN} Alpha`,
    environments: ["staging", "production"],
  });
  await api(page, "services.create", { name: `Cockpit ${RUN} Beta`, environments: ["staging", "production"] });
  const detail = await api<Detail>(page, "services.get", { id: alpha.id }, "query");
  const staging = detail.environments.find((e) => e.name === "staging")!.id;
  const production = detail.environments.find((e) => e.name === "production")!.id;
  await api(page, "environments.updatePolicy", { environmentId: staging, policy: HOLDING_POLICY });
  const release = await api<{ id: string }>(page, "releases.create", {
    serviceId: alpha.id,
    version: "1.0.0",
    artifact: "registry.local/alpha:1.0.0",
  });
  // A finished deployment (aborted at once), then one in progress, held in its validation window.
  const first = await api<{ id: string }>(page, "deployments.start", { releaseId: release.id, environmentId: staging });
  await api(page, "deployments.abort", { deploymentId: first.id, reason: "cockpit test" });
  await expect
    .poll(async () => (await api<{ status: string }>(page, "deployments.get", { id: first.id }, "query")).status, {
      timeout: 60_000,
    })
    .toBe("aborted");
  const second = await api<{ id: string }>(page, "deployments.start", {
    releaseId: release.id,
    environmentId: staging,
  });
  const change = await api<{ id: string }>(page, "changes.create", {
    releaseId: release.id,
    environmentId: production,
    type: "standard",
    title: `Alpha ${RUN} 1.0.0`,
  });

  try {
    await page.goto(`/?q=${encodeURIComponent(`Cockpit ${RUN}`)}`);
    const table = page.getByRole("table", { name: "Services" });
    await expect(table.getByRole("columnheader", { name: "staging" })).toBeVisible();
    await expect(table.getByRole("columnheader", { name: "production" })).toBeVisible();
    await expect(table.locator("tbody tr")).toHaveCount(2);

    const stagingCell = page.getByTestId(`env-cockpit-${RUN}-alpha-staging`);
    await expect(stagingCell.getByTestId("live-version")).toHaveText(/nothing yet|1\.0\.0 on (blue|green)/);
    const active = stagingCell.getByTestId("active-deployment");
    await expect(active).toContainText("1.0.0");
    await expect(active).toContainText(/step 1 of 1 \(100%\)/, { timeout: 60_000 });
    await expect(active.getByRole("link")).toHaveAttribute("href", `/deployments/${second.id}`);
    const last = stagingCell.getByTestId("last-deployment");
    await expect(last).toContainText("aborted");
    await expect(last.getByRole("link")).toHaveAttribute("href", `/deployments/${first.id}`);

    const productionCell = page.getByTestId(`env-cockpit-${RUN}-alpha-production`);
    await expect(productionCell.getByTestId("live-version")).toHaveText("nothing yet");
    const pending = productionCell.getByTestId("pending-approvals");
    await expect(pending).toHaveText(/1 change awaiting approval/);
    await expect(pending.getByRole("link")).toHaveAttribute("href", `/approvals?change=${change.id}`);

    // Sorting: by service, descending puts Beta first; the sort is in the URL.
    const serviceHeader = table.getByRole("columnheader", { name: "Service" });
    await expect(serviceHeader).toHaveAttribute("aria-sort", "ascending");
    await expect(table.locator("tbody tr").first()).toContainText("Alpha");
    await serviceHeader.getByRole("button").click();
    await expect(serviceHeader).toHaveAttribute("aria-sort", "descending");
    await expect(table.locator("tbody tr").first()).toContainText("Beta");
    await expect(page).toHaveURL(/sort=-service/);
    // By an environment: the cells needing attention first (Alpha deploys in staging).
    const stagingHeader = table.getByRole("columnheader", { name: "staging" });
    await stagingHeader.getByRole("button").click();
    await expect(stagingHeader).toHaveAttribute("aria-sort", "ascending");
    await expect(table.locator("tbody tr").first()).toContainText("Alpha");

    // Filtering: by name, and by what is happening; both survive a reload.
    await page.getByRole("searchbox", { name: "Search services" }).fill(`Cockpit ${RUN} Beta`);
    await expect(table.locator("tbody tr")).toHaveCount(1);
    await expect(table.locator("tbody tr")).toContainText("Beta");
    await page.getByRole("searchbox", { name: "Search services" }).fill(`Cockpit ${RUN}`);
    await page.getByLabel("Show").selectOption("approvals");
    await expect(table.locator("tbody tr")).toHaveCount(1);
    await expect(table.locator("tbody tr")).toContainText("Alpha");
    await expect(page).toHaveURL(/show=approvals/);
    await page.reload();
    await expect(page.getByLabel("Show")).toHaveValue("approvals");
    await expect(page.getByRole("searchbox", { name: "Search services" })).toHaveValue(`Cockpit ${RUN}`);
    await expect(page.getByRole("table", { name: "Services" }).locator("tbody tr")).toHaveCount(1);

    // The links lead to the deployment.
    await page.getByLabel("Show").selectOption("deploying");
    await page
      .getByTestId(`env-cockpit-${RUN}-alpha-staging`)
      .getByTestId("active-deployment")
      .getByRole("link")
      .click();
    await expect(page).toHaveURL(new RegExp(`/deployments/${second.id}$`));
  } finally {
    await api(page, "deployments.abort", { deploymentId: second.id, reason: "cockpit test done" }).catch(
      () => undefined,
    );
  }
});

test("the overview pages on the server: 50 services a page, a pager kept in the URL, and a new order starts at page 1", async ({
  page,
  panel,
}) => {
  await signInOverHttpAs(page, panel, "release_manager");
  const names = Array.from({ length: 52 }, (_, i) => `Paging ${RUN} ${String(i + 1).padStart(2, "0")}`);
  for (let i = 0; i < names.length; i += 8)
    await Promise.all(
      names.slice(i, i + 8).map((name) => api(page, "services.create", { name, environments: ["staging"] })),
    );
  // What the server sends: one page, not every service.
  const answer = await api<{ services: unknown[]; matching: number; pageCount: number }>(
    page,
    "services.overview",
    { search: `Paging ${RUN}` },
    "query",
  );
  expect(answer).toMatchObject({ matching: 52, pageCount: 2 });
  expect(answer.services).toHaveLength(50);
  await page.goto(`/?q=${encodeURIComponent(`Paging ${RUN}`)}`);
  const table = page.getByRole("table", { name: "Services" });
  const rows = table.locator("tbody tr");
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toContainText(names[0]!);
  await expect(page.locator(".data-table-count")).toHaveText(/^52 of \d+ rows$/);
  const pager = page.getByRole("navigation", { name: "Pages" });
  await expect(pager).toContainText("Page 1 of 2");
  await expect(pager.getByRole("button", { name: "Previous" })).toBeDisabled();

  await pager.getByRole("button", { name: "Next" }).click();
  await expect(pager).toContainText("Page 2 of 2");
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText(names[50]!);
  await expect(page).toHaveURL(/page=2/);
  await page.reload();
  await expect(page.getByRole("navigation", { name: "Pages" })).toContainText("Page 2 of 2");
  await expect(rows).toHaveCount(2);

  // Another order starts again from the first page: descending, the last service comes first.
  await table.getByRole("columnheader", { name: "Service" }).getByRole("button").click();
  await expect(pager).toContainText("Page 1 of 2");
  await expect(page).not.toHaveURL(/page=/);
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toContainText(names[51]!);
  // A narrower search fits one page: no pager.
  await page.getByRole("searchbox", { name: "Search services" }).fill(`Paging ${RUN} 0`);
  await expect(rows).toHaveCount(9);
  await expect(pager).toHaveCount(0);
});

test("approvals: the inbox shows each change's age and checklist state; approving confirms it with the checklist state and leaves no Approve button on the decided change; the checklist draws its marks as SVG", async ({
  page,
  panel,
  browser,
}) => {
  await signInOverHttpAs(page, panel, "release_manager");
  const service = await api<{ id: string }>(page, "services.create", {
    name: `Cockpit ${RUN} Gamma`,
    environments: ["staging", "production"],
  });
  const detail = await api<Detail>(page, "services.get", { id: service.id }, "query");
  const production = detail.environments.find((e) => e.name === "production")!.id;
  const release = await api<{ id: string }>(page, "releases.create", {
    serviceId: service.id,
    version: "2.0.0",
    artifact: "registry.local/gamma:2.0.0",
  });
  const title = `Gamma ${RUN} 2.0.0`;
  const change = await api<{ id: string }>(page, "changes.create", {
    releaseId: release.id,
    environmentId: production,
    type: "standard",
    title,
  });
  const items = await api<{ required: boolean }[]>(
    page,
    "checklist.get",
    { releaseId: release.id, environmentId: production },
    "query",
  );
  const required = items.filter((i) => i.required).length;

  const approver = await browser.newPage();
  await signInOverHttpAs(approver, panel, "approver");
  await approver.goto("/approvals");
  const row = approver.getByTestId(`inbox-${change.id}`);
  await expect(row).toContainText(title);
  await expect(row.getByTestId("change-age")).toHaveText(/^\d+ (s|min \d+ s)$/);
  await expect(row.getByTestId("checklist-state")).toHaveText(`0 of ${required} required items done`);

  await row.getByRole("link", { name: title }).click();
  const card = approver.getByTestId("change-detail");
  await expect(card.getByTestId("checklist-state")).toHaveText(`0 of ${required} required items done`);
  // The checklist's marks are inline SVG, not emoji a machine may lack a font for.
  const checklist = card.getByRole("table", { name: "Checklist" });
  await expect(checklist.locator("svg[data-icon]").first()).toBeVisible();
  expect(await checklist.textContent()).not.toMatch(/\u2B1C|\u25FB|\u2705|\uFE0F/u);

  await card.getByRole("button", { name: "Approve", exact: true }).click();
  const confirmation = approver.getByTestId("approve-confirmation");
  await expect(confirmation).toContainText("You approved this change as Approver.");
  await expect(confirmation).toContainText("it is approved");
  await expect(confirmation.getByTestId("checklist-state")).toHaveText(`0 of ${required} required items done`);
  await expect(card.getByTestId("change-status")).toHaveText("approved");
  await expect(card.getByRole("button", { name: "Approve", exact: true })).toHaveCount(0);
  await expect(card.getByRole("button", { name: "Reject", exact: true })).toHaveCount(0);
  // Opened afresh, the decided change still offers no Approve button.
  await approver.goto(`/approvals?change=${change.id}`);
  await expect(approver.getByTestId("change-status")).toHaveText("approved");
  await expect(approver.getByTestId("already-decided")).toBeVisible();
  await expect(approver.getByRole("button", { name: "Approve", exact: true })).toHaveCount(0);
  await approver.close();
});

test("deactivating a person asks first; cancelling leaves them active", async ({ page, panel }) => {
  await signInOverHttpAs(page, panel, "admin");
  const email = `cockpit-${RUN}@example.test`;
  await api(page, "users.create", { email, name: `Cockpit ${RUN}`, roles: ["viewer"] });
  await page.goto("/admin");
  // The people table filters by name, e-mail or role.
  await page.getByPlaceholder("Filter people by name, e-mail or role").fill(email);
  await expect(page.getByRole("table", { name: "Users" }).locator("tbody tr")).toHaveCount(1);
  const row = page.getByRole("table", { name: "Users" }).getByRole("row").filter({ hasText: email });
  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    void dialog.dismiss();
  });
  await row.getByRole("button", { name: "Deactivate" }).click();
  await expect.poll(() => asked).toContain(`Deactivate ${email}?`);
  await expect(row).toContainText("Active");
  await expect(row.getByRole("button", { name: "Deactivate" })).toBeVisible();
  page.once("dialog", (dialog) => void dialog.accept());
  await row.getByRole("button", { name: "Deactivate" }).click();
  await expect(row).toContainText("Deactivated");
  await expect(row.getByRole("button", { name: "Activate" })).toBeVisible();
});

test("an emptied number box in the policy form is refused, named and marked; the old banner goes; nothing is saved as 0", async ({
  page,
  panel,
}) => {
  await signInOverHttpAs(page, panel, "release_manager");
  const service = await api<{ id: string }>(page, "services.create", {
    name: `Cockpit ${RUN} Delta`,
    environments: ["staging"],
  });
  await page.goto(`/services/${service.id}`);
  await page.getByTestId("environment-staging").getByRole("button", { name: "Settings" }).click();
  const settings = page.getByRole("region", { name: "Settings of staging" });
  const form = settings.getByRole("form", { name: "Deployment policy" });
  await form.getByRole("button", { name: "Save policy" }).click();
  await expect(settings.getByText("Policy saved.")).toBeVisible();

  const bake = form.getByLabel("Bake per step (s)");
  const before = await bake.inputValue();
  await bake.fill("");
  await form.getByRole("button", { name: "Save policy" }).click();
  await expect(settings.locator(".notice.error")).toHaveText("Bake per step (s): is empty; enter a number.");
  await expect(settings.getByText("Policy saved.")).toHaveCount(0);
  await expect(bake).toHaveAttribute("aria-invalid", "true");
  await expect(bake).toBeFocused();
  const detail = await api<{ environments: { policy: { bakeSeconds: number } }[] }>(
    page,
    "services.get",
    { id: service.id },
    "query",
  );
  expect(String(detail.environments[0]!.policy.bakeSeconds)).toBe(before);

  // The alert thresholds too: an empty box was saved as 0.
  const thresholds = settings.getByRole("form", { name: "Alert thresholds" });
  await thresholds.getByLabel("p95 latency (ms)").fill("");
  await thresholds.getByRole("button", { name: "Save thresholds" }).click();
  await expect(settings.locator(".notice.error")).toHaveText("p95 latency (ms): is empty; enter a number.");
  await expect(thresholds.getByLabel("p95 latency (ms)")).toHaveAttribute("aria-invalid", "true");
  await expect(bake).not.toHaveAttribute("aria-invalid", "true");

  // Filled in again, it saves and the error and the mark go.
  await bake.fill("7");
  await form.getByRole("button", { name: "Save policy" }).click();
  await expect(settings.getByText("Policy saved.")).toBeVisible();
  await expect(settings.locator(".notice.error")).toHaveCount(0);
  await expect(bake).not.toHaveAttribute("aria-invalid", "true");
});

for (const role of ["release_manager", "admin"]) {
  test(`at 390 px wide, for ${role.replace("_", " ")}, no main page scrolls sideways and every navigation link is reachable`, async ({
    page,
    panel,
  }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    // The page's data requests: a page is measured once its data has arrived. (A page with live data while
    // other specs deploy may never be network-idle, so that is not what is waited for.)
    const calls = { started: 0, open: 0 };
    const isApi = (request: Request) => request.url().includes("/api/trpc/");
    page.on("request", (request) => {
      if (!isApi(request)) return;
      calls.started++;
      calls.open++;
    });
    const ended = (request: Request) => {
      if (isApi(request)) calls.open--;
    };
    page.on("requestfinished", ended);
    page.on("requestfailed", ended);
    await page.goto("/signin");
    await signInAs(page, panel, role);
    const links = nav(page).getByRole("link");
    const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute("href")!));
    expect(hrefs.length).toBeGreaterThan(3);
    for (const href of [...hrefs, "/account", "/notifications"]) {
      calls.started = 0;
      await page.goto(href);
      await expect(page.locator("h1").first()).toBeVisible();
      await expect.poll(() => calls.started > 0 && calls.open === 0, `${href}'s data`).toBe(true);
      await expect(page.getByText("Loading…")).toHaveCount(0);
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }));
      expect(widths.scroll, `${href} as ${role} scrolls sideways`).toBeLessThanOrEqual(widths.inner);
      // A table too wide scrolls in its own box and keeps whole words ("Month ly maint enanc e" was not).
      expect(await wordsBrokenInTables(page), `${href}: words broken across lines in a table`).toEqual([]);
      for (const link of await links.all())
        await expect(link, `${await link.textContent()} on ${href}`).toBeInViewport({ ratio: 1 });
    }
  });
}
