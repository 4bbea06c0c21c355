/**
 * The release engine through the browser: real server, local target, real processes. Short bakes
 * come from the policy (set through the API, as a release manager could); nothing sleeps.
 */
import type { Page } from "@playwright/test";
import { api, approveForProduction, signInOverHttpAs, stopDemoTraffic } from "./api";
import { expect, signInAs, test } from "./fixtures";
import { DATABASE_HEALTH_SMOKE_TEST, WEBSOCKET_SMOKE_TEST } from "../server/releases/policy";
import { THREE_STEP_POLICY } from "./policies";

test.describe.configure({ mode: "serial" });

const POLICY = { ...THREE_STEP_POLICY, smokeTests: [DATABASE_HEALTH_SMOKE_TEST, WEBSOCKET_SMOKE_TEST] };

async function setPolicy(page: Page, environmentId: string, changes: Partial<typeof POLICY> = {}) {
  await api(page, "environments.updatePolicy", { environmentId, policy: { ...POLICY, ...changes } });
}

async function addRelease(page: Page, version: string, failurePercent?: number) {
  const form = page.getByRole("form", { name: "New release" });
  await form.getByLabel("Version").fill(version);
  await form.getByLabel("Artifact").fill(`registry.local/storefront:${version}`);
  if (failurePercent !== undefined) await form.getByLabel("Failure rate % (demo)").fill(String(failurePercent));
  await form.getByRole("button", { name: "Add release" }).click();
  await expect(page.getByTestId(`release-${version}`)).toBeVisible();
}

async function deploy(page: Page, version: string, environment: string) {
  await page.getByTestId(`release-${version}`).getByRole("button", { name: environment, exact: true }).click();
  await expect(page).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
}

async function targetSlot(page: Page): Promise<string> {
  const text = await page.getByLabel("Traffic steps").textContent();
  return /→ (blue|green)/.exec(text ?? "")![1]!;
}

let serviceUrl: string;
let ciToken: string;
const environments: Record<string, string> = {};

test.afterAll(async ({ browser, panel }) => stopDemoTraffic(browser, panel, Object.values(environments)));

test("a good release goes to staging and production; the split walks 10 → 50 → 100 while the charts update", async ({
  page,
  panel,
  browser,
}) => {
  test.setTimeout(240_000);
  await signInAs(page, panel, "release_manager");
  await page.getByRole("button", { name: "New service" }).click();
  const form = page.getByRole("form", { name: "New service" });
  await form.getByLabel("Name").fill("Storefront");
  await form.getByLabel("Environments, in promotion order").fill("staging, production");
  await form.getByRole("button", { name: "Create service" }).click();
  // Creating a service opens its page (on a paged overview the new row may be on another page).
  await expect(page).toHaveURL(/\/services\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { name: "Storefront" })).toBeVisible();
  serviceUrl = page.url();
  const serviceId = serviceUrl.split("/").pop()!;
  const detail = (await (
    await page.request.get(
      `/api/trpc/services.get?input=${encodeURIComponent(JSON.stringify({ json: { id: serviceId } }))}`,
    )
  ).json()) as {
    result: { data: { json: { environments: { id: string; name: string }[] } } };
  };
  for (const env of detail.result.data.json.environments) {
    environments[env.name] = env.id;
    await setPolicy(page, env.id);
  }
  ciToken = (
    await api<{ token: string }>(page, "tokens.create", {
      serviceId,
      name: "CI",
      scopes: ["evidence:write"],
      expiresInDays: 30,
    })
  ).token;
  const productionReady = async (version: string) => {
    const service = await api<{ releases: { id: string; version: string }[] }>(
      page,
      "services.get",
      { id: serviceId },
      "query",
    );
    const releaseId = service.releases.find((r) => r.version === version)!.id;
    await approveForProduction(browser, panel, page, {
      releaseId,
      environmentId: environments.production!,
      token: ciToken,
      title: `Storefront ${version}`,
    });
  };
  await page.reload();
  for (const name of ["staging", "production"]) {
    await page.getByTestId(`environment-${name}`).getByRole("button", { name: "Start traffic" }).click();
    await expect(page.getByTestId(`environment-${name}`)).toContainText("generator on");
  }

  await addRelease(page, "1.0.0");
  await deploy(page, "1.0.0", "staging");
  await expect(page.getByTestId("deployment-status")).toHaveText("succeeded", { timeout: 60_000 });
  await productionReady("1.0.0");
  await page.goto(serviceUrl);
  await deploy(page, "1.0.0", "production");
  await expect(page.getByTestId("deployment-status")).toHaveText("succeeded", { timeout: 60_000 });

  await page.goto(serviceUrl);
  await addRelease(page, "1.1.0");
  for (const environment of ["staging", "production"]) {
    if (environment === "production") await productionReady("1.1.0");
    await page.goto(serviceUrl);
    await deploy(page, "1.1.0", environment);
    const slot = await targetSlot(page);
    const split = page.getByTestId("traffic-split");
    for (const percent of [10, 50, 100])
      await expect(split).toHaveAttribute("aria-label", new RegExp(`${slot} ${percent}%`), { timeout: 60_000 });
    // The charts loaded history and keep growing without a reload.
    const charts = page.getByTestId("charts");
    const before = Number(await charts.getAttribute("data-points"));
    await expect
      .poll(async () => Number(await charts.getAttribute("data-points")), { timeout: 15_000 })
      .toBeGreaterThan(before);
    await expect(page.getByTestId("deployment-status")).toHaveText("succeeded", { timeout: 60_000 });
    await expect(page.locator('[data-figure="secondsWithoutSuccess"] .value')).toHaveText("0 s");
  }
  await page.getByRole("link", { name: "Overview", exact: true }).click();
  // The overview pages by name: other specs' services may come first, so find it as a person would.
  await page.getByRole("searchbox", { name: "Search services" }).fill("Storefront");
  await expect(page.getByTestId("env-storefront-production").getByTestId("live-version")).toContainText("1.1.0");
});

test("a release with a 30% failure rate is rolled back before 100%, and the page names the failed gate and its value", async ({
  page,
  panel,
}) => {
  test.setTimeout(120_000);
  await signInOverHttpAs(page, panel, "release_manager");
  await page.goto(serviceUrl);
  await addRelease(page, "1.2.0", 30);
  await deploy(page, "1.2.0", "staging");
  await expect(page.getByTestId("deployment-status")).toHaveText("rolled back", { timeout: 90_000 });
  const gate = page.getByTestId("failed-gate");
  await expect(gate).toContainText(/Error.rate/i);
  // Why, in one sentence: both slots' figures and how sure the judge is.
  await expect(gate).toContainText(/\(new\) fails \d+(\.\d+)? % of requests/);
  await expect(gate).toContainText(/% sure/);
  await expect(page.locator('tr[data-outcome="fail"]').first()).toBeVisible();
  const slot = await targetSlot(page);
  const live = slot === "blue" ? "green" : "blue";
  await expect(page.getByTestId("traffic-split")).toHaveAttribute("aria-label", new RegExp(`${live} 100%`));
  expect(await page.getByLabel("Traffic steps").locator(".step.done").count()).toBeLessThan(3);
});

test("a manual rollback during a bake puts 100% back on the live slot", async ({ page, panel }) => {
  test.setTimeout(120_000);
  await signInOverHttpAs(page, panel, "release_manager");
  await setPolicy(page, environments.staging!, { bakeSeconds: 600 });
  await page.goto(serviceUrl);
  await addRelease(page, "1.3.0");
  await deploy(page, "1.3.0", "staging");
  const slot = await targetSlot(page);
  const live = slot === "blue" ? "green" : "blue";
  await expect(page.getByTestId("traffic-split")).toHaveAttribute("aria-label", new RegExp(`${slot} 10%`), {
    timeout: 60_000,
  });
  await expect(page.getByTestId("status-detail")).toContainText("Baking step 1");
  await page.getByRole("button", { name: "Roll back" }).click();
  await page.getByLabel("Reason (optional)").fill("Looks wrong on the dashboard");
  await page.getByRole("button", { name: "Confirm rollback" }).click();
  await expect(page.getByTestId("deployment-status")).toHaveText("rolled back", { timeout: 60_000 });
  await expect(page.getByTestId("traffic-split")).toHaveAttribute("aria-label", new RegExp(`${live} 100%`));
  await expect(page.getByRole("list", { name: "Timeline" })).toContainText("Looks wrong on the dashboard");
  await setPolicy(page, environments.staging!);
});
