/**
 * The deployment page as a release manager's cockpit (issue 12): traffic before anything is live
 * measures nothing, slots named by role and colour, the split right after a rollback, rounded figures
 * with no breach figure for a manual rollback, charts scoped to the deployment with its steps marked,
 * each slot's current figures, commands from the server, and the checklist with several items ticked
 * at once. Real server, local target, real processes; nothing sleeps.
 */
import type { Page } from "@playwright/test";
import { api, signInOverHttpAs, signedIn, stopDemoTraffic } from "./api";
import { expect, test } from "./fixtures";
import { wordsBrokenInTables } from "./layout";
import { THREE_STEP_POLICY } from "./policies";

test.describe.configure({ mode: "serial" });

const POLICY = THREE_STEP_POLICY;

let serviceId: string;
let environmentId: string;

async function release(page: Page, version: string): Promise<string> {
  return (
    await api<{ id: string }>(page, "releases.create", {
      serviceId,
      version,
      artifact: `registry.local/ledger:${version}`,
    })
  ).id;
}

async function deploy(page: Page, releaseId: string): Promise<void> {
  const { id } = await api<{ id: string }>(page, "deployments.start", { releaseId, environmentId });
  await page.goto(`/deployments/${id}`);
}

test.afterAll(async ({ browser, panel }) => stopDemoTraffic(browser, panel));

test("traffic before anything is live raises no alert and costs no availability; the page says nothing is live", async ({
  page,
  panel,
  browser,
}) => {
  test.setTimeout(400_000);
  await signInOverHttpAs(page, panel, "release_manager");
  serviceId = (await api<{ id: string }>(page, "services.create", { name: "Vacant Ledger", environments: ["sandbox"] }))
    .id;
  const service = await api<{ environments: { id: string }[] }>(page, "services.get", { id: serviceId }, "query");
  environmentId = service.environments[0]!.id;
  await api(page, "environments.updatePolicy", { environmentId, policy: POLICY });
  await api(page, "checklist.updateTemplate", {
    environmentId,
    items: [
      { key: "code_review", title: "Code review approved", kind: "manual", required: true },
      { key: "runbook", title: "Runbook updated", kind: "manual", required: true },
      { key: "notify", title: "Support told", kind: "manual", required: true },
      { key: "tests_passing", title: "Tests passing", kind: "automatic", required: true },
    ],
  });
  // Traffic first: every request reaches blue, where nothing runs.
  await api(page, "environments.setTrafficGenerator", { environmentId, enabled: true, rate: 40 });
  await expect
    .poll(
      async () =>
        (
          await api<{ points: { requests: number }[] }>(
            page,
            "environments.metrics",
            { environmentId, minutes: 1 },
            "query",
          )
        ).points.reduce((n, p) => n + p.requests, 0),
      { timeout: 30_000 },
    )
    .toBeGreaterThan(120);

  await deploy(page, await release(page, "1.0.0"));
  await expect(page.getByTestId("nothing-live")).toContainText("nothing to measure");
  await expect(page.getByTestId("slot-figures").locator('tr[data-slot="blue"]')).toContainText("no release here");
  await expect(page.getByTestId("deployment-status")).toHaveText("succeeded", { timeout: 240_000 });

  const overview = await api<{
    services: { id: string; environments: { id: string; availabilityPercent: number | null }[] }[];
  }>(page, "services.overview", { search: "Vacant Ledger" }, "query");
  expect(overview.services.find((s) => s.id === serviceId)!.environments[0]!.availabilityPercent).toBe(100);
  // No alert was ever opened (an alert opened before the release took traffic would have closed since).
  const auditor = await signedIn(browser, panel, "auditor");
  const opened = await api<{ events: unknown[] }>(
    auditor,
    "audit.list",
    { filter: { action: "alert.opened", entityId: environmentId } },
    "query",
  );
  expect(opened.events).toEqual([]);
  await auditor.close();
});

test("at 50 %: slots named by role and colour, commands from the server, charts from the deployment's start with its steps, current figures per slot", async ({
  page,
  panel,
}) => {
  // Minutes on a busy machine: a green slot to start, smoke tests, a step.
  test.setTimeout(600_000);
  await signInOverHttpAs(page, panel, "release_manager");
  await api(page, "environments.updatePolicy", {
    environmentId,
    policy: { ...POLICY, steps: [50, 100], bakeSeconds: 600 },
  });
  await deploy(page, await release(page, "1.1.0"));
  // 1.0.0 went to green, so 1.1.0 goes to blue: the new release's slot is blue, the live one green.
  await expect(page.getByTestId("traffic-split")).toHaveAttribute("aria-label", "blue 50%, green 50%", {
    timeout: 240_000,
  });
  await expect(page.getByTestId("traffic-split")).toContainText("blue 50% · new");
  await expect(page.getByTestId("traffic-split")).toContainText("green 50% · live");
  const gates = page.getByRole("table", { name: "Gate results" });
  await expect(gates.locator("thead")).toContainText("New release (blue)");
  await expect(gates.locator("thead")).toContainText("Live (green)");
  await expect(gates.locator('tr[data-gate="min_requests"]').last()).toContainText(/blue \(new\) has served/);
  await expect(gates).not.toContainText(/green (\(new\) )?(has )?served/);

  await expect(page.getByTestId("status-detail")).toContainText("Baking step 1", { timeout: 60_000 });
  // The commands the state machine offers while traffic is split: no abort once traffic has moved.
  const commands = page.getByTestId("commands");
  await expect(commands.getByRole("button")).toHaveText(["Pause", "Promote now", "Roll back"]);
  // The page reads the deployment again by itself (every 5 s) while the split arrives every second
  // (live patches once restarted that timer at every event, and the page went stale).
  let reads = 0;
  page.on("request", (request) => {
    if (request.url().includes("deployments.get")) reads++;
  });
  await expect.poll(() => reads, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);

  // Charts: from a minute before the start, the step's start marked, zoomable to it; figures beside them.
  await expect(page.getByTestId("chart-split")).toContainText("50 %", { timeout: 30_000 });
  await page.getByRole("button", { name: "Step 50 %" }).click();
  await expect(page.getByRole("button", { name: "Step 50 %" })).toHaveAttribute("aria-pressed", "true");
  const figures = page.getByTestId("slot-figures");
  await expect(figures.locator('tr[data-slot="blue"]')).toContainText("new release (blue)");
  await expect(figures.locator('tr[data-slot="blue"] [data-figure="rps"]')).toHaveText(/^\d+(\.\d)?\/s$/, {
    timeout: 30_000,
  });
  await expect(figures.locator('tr[data-slot="green"] [data-figure="errors"]')).toHaveText(/^\d+(\.\d+)? %$/);

  for (const [width, height] of [
    [1400, 1000],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    // Tables scroll in their own box and keep whole words: no "ST EP", "CONF IDEN CE" or "pas s".
    expect(await wordsBrokenInTables(page), `words broken across lines at ${width} px`).toEqual([]);
    await page.screenshot({ path: `.cache/screenshots/deployment-50-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
});

test("a manual rollback: the split shows the live slot at 100 % the moment it says rolled back; no breach figure; figures rounded", async ({
  page,
  panel,
}) => {
  test.setTimeout(300_000);
  await signInOverHttpAs(page, panel, "release_manager");
  const list = await api<{ id: string; status: string }[]>(
    page,
    "deployments.list",
    { environmentId, activeOnly: true },
    "query",
  );
  await page.goto(`/deployments/${list[0]!.id}`);
  await expect(page.getByTestId("traffic-split")).toHaveAttribute("aria-label", "blue 50%, green 50%", {
    timeout: 30_000,
  });
  // Watch every change of the page: the status must never read "rolled back" beside a split that is not 100 % live.
  await page.evaluate(() => {
    const w = window as unknown as { staleSplits: string[] };
    w.staleSplits = [];
    const check = () => {
      const status = document.querySelector('[data-testid="deployment-status"]')?.textContent;
      const split = document.querySelector('[data-testid="traffic-split"]')?.getAttribute("aria-label");
      if (status === "rolled back" && split !== "blue 0%, green 100%") w.staleSplits.push(String(split));
    };
    new MutationObserver(check).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
  await page.getByRole("button", { name: "Roll back" }).click();
  await page.getByLabel("Reason (optional)").fill("Numbers look off");
  await page.getByRole("button", { name: "Confirm rollback" }).click();
  await expect(page.getByTestId("deployment-status")).toHaveText("rolled back", { timeout: 120_000 });
  // (The observer above is the check that it never lagged; this one that it got there.)
  await expect(page.getByTestId("traffic-split")).toHaveAttribute("aria-label", "blue 0%, green 100%");
  expect(await page.evaluate(() => (window as unknown as { staleSplits: string[] }).staleSplits)).toEqual([]);
  await expect(page.getByTestId("commands").getByRole("button")).toHaveCount(0);

  // A person's rollback had no breach: the figure is from the command.
  await expect(page.locator('[data-figure="commandToRollbackSeconds"]')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('[data-figure="breachToRollbackSeconds"]')).toHaveCount(0);
  for (const value of await page.locator(".figure .value").allTextContents()) expect(value).not.toMatch(/\d\.\d{3,}/);
  // The change record names the slots by role and colour.
  await page.getByRole("link", { name: "Change record" }).click();
  const steps = page.getByRole("table", { name: "Metrics at each step" });
  await expect(steps.locator("thead")).toContainText("New release (blue) requests");
  await expect(steps.locator("thead")).toContainText("Live (green) p95");
  await expect(steps.locator("thead")).not.toContainText(/green requests/i);
  await expect(page.getByTestId("deployment-report")).toContainText(
    "Rollback: by release-manager@greenlight.local: Numbers look off; commanded at",
  );
  await expect(page.getByTestId("deployment-report")).not.toContainText('{"kind"');

  // Every deployment at a glance: the list filters on the page and keeps the filter in the URL.
  await page.goto("/deployments");
  const deployments = page.getByRole("table", { name: "Deployments" });
  await page.getByPlaceholder("Filter by release, service, environment or person").fill("Vacant Ledger");
  await expect(page).toHaveURL(/[?&]q=Vacant/);
  const rows = deployments.locator("tbody tr");
  await expect(rows.first()).toBeVisible();
  for (const service of await rows.locator("td:nth-child(2)").allTextContents()) expect(service).toBe("Vacant Ledger");
  await expect(rows.filter({ hasText: "rolled back" })).not.toHaveCount(0);
  await page.getByPlaceholder("Filter by release, service, environment or person").fill("no such service");
  await expect(page.getByText("Nothing matches.")).toBeVisible();
});

test("the checklist on the deployment page: blocking items, evidence, several ticked at once", async ({
  page,
  panel,
}) => {
  await signInOverHttpAs(page, panel, "release_manager");
  const list = await api<{ id: string; version: string }[]>(page, "deployments.list", { environmentId }, "query");
  await page.goto(`/deployments/${list.find((d) => d.version === "1.1.0")!.id}`);
  const checklist = page.getByRole("region", { name: "Checklist" });
  await expect(checklist.getByTestId("checklist-blocking")).toHaveText(/^4 required items not complete/);
  await expect(checklist.locator('tr[data-item="tests_passing"]')).toContainText("from CI");
  await checklist.getByLabel("Select Code review approved").check();
  await checklist.getByLabel("Select Runbook updated").check();
  await checklist.getByLabel("Note for the selected items").fill("checked with the team");
  await checklist.getByRole("button", { name: "Tick 2 selected" }).click();
  await expect(checklist.locator('tr[data-item="code_review"]')).toHaveAttribute("data-done", "true");
  await expect(checklist.locator('tr[data-item="runbook"]')).toContainText("checked with the team");
  await expect(checklist.getByTestId("checklist-blocking")).toHaveText(/^2 required items not complete/);
  await api(page, "environments.setTrafficGenerator", { environmentId, enabled: false });
});
