/**
 * Pipelines in the browser: a release manager creates a scoped, expiring CI token on the Service
 * page, sees it once, sees its last use once a pipeline has used it, and revokes it; the CTO reads
 * the delivery metrics of a deployment a pipeline made.
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { api, signedIn, stopDemoTraffic } from "./api";
import { expect, nav, test } from "./fixtures";
import { wordsBrokenInTables } from "./layout";
import { FAST_POLICY } from "./policies";

test.describe.configure({ mode: "serial" });

const FAST = { ...FAST_POLICY, bakeSeconds: 1 };

let serviceId: string;
let token: string;

/** A duration as the delivery page writes it ("3 h 5 min", "12 min 5 s") in seconds; null for "—". */
function seconds(text: string): number | null {
  if (text.trim() === "—") return null;
  const units: Record<string, number> = { d: 86_400, h: 3600, min: 60, s: 1 };
  const parts = [...text.matchAll(/(\d+) (d|h|min|s)\b/g)];
  expect(parts.length, `a duration: ${text}`).toBeGreaterThan(0);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

/** Screenshots at 1400 and 390 px wide; at 390 the page does not scroll sideways and tables keep whole words. */
async function shoot(page: Page, name: string) {
  const screens = path.resolve(".cache/screens");
  fs.mkdirSync(screens, { recursive: true });
  for (const width of [1400, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(screens, `${name}-${width}.png`), fullPage: true });
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth),
      `${name} scrolls sideways`,
    ).toBeLessThanOrEqual(width);
    expect(await wordsBrokenInTables(page), `${name}: words broken across lines at ${width} px`).toEqual([]);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
}

test.afterAll(async ({ browser, panel }) => stopDemoTraffic(browser, panel));

test("a release manager creates a CI token with scopes and an expiry, sees it once, sees its last use, and revokes it", async ({
  browser,
  panel,
}) => {
  const rm = await signedIn(browser, panel, "release_manager");
  serviceId = (
    await api<{ id: string }>(rm, "services.create", {
      name: "Pipeline Shop",
      slug: "pipeline-shop",
      environments: ["development", "production"],
    })
  ).id;
  await rm.goto(`/services/${serviceId}`);
  const section = rm.getByRole("region", { name: "CI tokens" });
  await section.getByLabel("New token name").fill("GitHub Actions");
  for (const scope of ["releases:write", "deployments:write"])
    await section.getByRole("checkbox", { name: new RegExp(`^${scope}`) }).check();
  await section.getByLabel("Expires after").selectOption("30");
  await section.getByRole("button", { name: "Create token" }).click();
  token = (await section.getByTestId("shown-token").textContent())!;
  expect(token).toMatch(/^glt_/);
  const row = section.getByRole("row", { name: /GitHub Actions/ });
  await expect(row).toContainText("releases:write, deployments:write, evidence:write, read");
  await expect(row).toContainText("expires");
  await expect(row).toContainText("never used");
  await section.getByRole("button", { name: "Done" }).click();
  await expect(section.getByTestId("shown-token")).toHaveCount(0);

  // A pipeline uses it: the page shows when.
  const used = await rm.request.get("/api/v1/services/pipeline-shop", {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(used.status()).toBe(200);
  await rm.reload();
  await expect(
    rm.getByRole("region", { name: "CI tokens" }).getByRole("row", { name: /GitHub Actions/ }),
  ).not.toContainText("never used");

  // A second token, revoked: the pipeline is refused.
  await section.getByLabel("New token name").fill("Old pipeline");
  await section.getByRole("button", { name: "Create token" }).click();
  const old = (await section.getByTestId("shown-token").textContent())!;
  rm.once("dialog", (dialog) => void dialog.accept());
  await section
    .getByRole("row", { name: /Old pipeline/ })
    .getByRole("button", { name: "Revoke" })
    .click();
  await expect(section.getByRole("row", { name: /Old pipeline/ })).toContainText("revoked");
  // The tokens table is the panel's sortable table: by name, then by name descending.
  const tokens = section.getByRole("table", { name: "Tokens" });
  await expect(tokens.locator("tbody tr").first()).toContainText("GitHub Actions");
  await tokens.getByRole("button", { name: "Name" }).click();
  await expect(tokens.locator("tbody tr").first()).toContainText("Old pipeline");
  expect(
    (await rm.request.get("/api/v1/services/pipeline-shop", { headers: { Authorization: `Bearer ${old}` } })).status(),
  ).toBe(401);
  await rm.close();
});

test("the CTO reads the delivery metrics of what a pipeline deployed; an approver does not see them", async ({
  browser,
  panel,
}) => {
  const rm = await signedIn(browser, panel, "release_manager");
  const service = await api<{ environments: { id: string; name: string }[] }>(
    rm,
    "services.get",
    { id: serviceId },
    "query",
  );
  const development = service.environments.find((e) => e.name === "development")!.id;
  await api(rm, "environments.updatePolicy", { environmentId: development, policy: FAST });
  await api(rm, "environments.setTrafficGenerator", { environmentId: development, enabled: true, rate: 20 });
  const auth = { Authorization: `Bearer ${token}` };
  const commitTime = new Date(Date.now() - 3 * 3600_000).toISOString();
  expect(
    (
      await rm.request.post("/api/v1/services/pipeline-shop/releases", {
        headers: auth,
        data: { version: "2.0.0", artifact: "demo:2.0.0", commitTime },
      })
    ).status(),
  ).toBe(201);
  const started = await rm.request.post("/api/v1/services/pipeline-shop/deployments", {
    headers: auth,
    data: { version: "2.0.0", environment: "development" },
  });
  const id = ((await started.json()) as { id: string }).id;
  await expect
    .poll(
      async () =>
        ((await (await rm.request.get(`/api/v1/deployments/${id}`, { headers: auth })).json()) as { verdict: string })
          .verdict,
      { timeout: 60_000 },
    )
    .toBe("succeeded");
  await rm.close();

  const cto = await signedIn(browser, panel, "cto");
  await cto.goto("/");
  await nav(cto).getByRole("link", { name: "Delivery" }).click();
  await expect(cto.getByRole("heading", { name: "Delivery", level: 1 })).toBeVisible();
  const row = cto.locator('tr[data-scope="pipeline-shop/development"]');
  await expect(row.locator('[data-metric="deploymentsPerDay"]')).toContainText("1 successful");
  await expect(row.locator('[data-metric="leadTimeSeconds"]')).toContainText(/^3 h \d+ min/);
  await expect(row.locator('[data-metric="changeFailureRate"]')).toContainText("0%");
  // The scopes are the panel's sortable table: by lead time, longest first and then shortest first, and a scope
  // without one ("—", as Pipeline Shop's production has none yet) last either way.
  const scopes = cto.getByRole("table", { name: "Delivery metrics by scope" });
  const leadTimes = async () =>
    (await scopes.locator('tbody [data-metric="leadTimeSeconds"] > strong').allTextContents()).map(seconds);
  for (const [direction, sort] of [
    ["descending", "-leadTimeSeconds"],
    ["ascending", "leadTimeSeconds"],
  ] as const) {
    await scopes.getByRole("button", { name: "Lead time for changes" }).click();
    await expect(scopes.getByRole("columnheader", { name: "Lead time for changes" })).toHaveAttribute(
      "aria-sort",
      direction,
    );
    await expect(cto).toHaveURL(new RegExp(`[?&]sort=${sort}(&|$)`));
    const figures = await leadTimes();
    const known = figures.filter((f) => f !== null);
    expect(figures).toContain(null);
    expect(figures, `lead times, ${direction}, missing ones last`).toEqual([
      ...[...known].sort((a, b) => (direction === "ascending" ? a - b : b - a)),
      ...figures.filter((f) => f === null),
    ]);
  }
  await shoot(cto, "delivery");
  await cto.getByRole("link", { name: "Last 7 days" }).click();
  await expect(cto).toHaveURL(/\/delivery\?days=7$/);
  await expect(cto.getByRole("table", { name: "Delivery trend" }).getByRole("row")).toHaveCount(8);
  await cto.close();

  const approver = await signedIn(browser, panel, "approver");
  await expect(nav(approver).getByRole("link", { name: "Delivery" })).toHaveCount(0);
  await approver.goto("/delivery");
  await expect(approver.getByRole("alert").filter({ hasText: "Not available to you" })).toContainText(
    "Delivery metrics is for cto, release_manager",
  );
  await approver.close();
});
