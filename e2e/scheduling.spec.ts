/**
 * Scheduling a major change into a maintenance window, through the browser: a release manager
 * schedules it from the change's page, sees it there and on the maintenance page, and cancels it.
 * And redeploying an earlier release to production from the service page, through a change request.
 * (The start itself, when the window opens, is tested with an injected clock in
 * test/integration/scheduled-deployments.test.ts: nothing here waits for a real window.) Runs after
 * the maintenance spec, whose window rules it would otherwise see come and go.
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { api, signedIn as as, stopDemoTraffic } from "./api";
import { expect, test } from "./fixtures";
import { wordsBrokenInTables } from "./layout";
import { FAST_POLICY } from "./policies";

test.describe.configure({ mode: "serial" });
test.use({ timezoneId: "Europe/Berlin", locale: "en-GB" });

const SCREENS = path.resolve(".cache/screens");

/** Screenshots at 1400 and 390 px wide; at both the page does not scroll sideways and tables keep whole words. */
async function shoot(page: Page, name: string) {
  fs.mkdirSync(SCREENS, { recursive: true });
  for (const width of [1400, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(SCREENS, `${name}-${width}.png`), fullPage: true });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(width);
    expect(await wordsBrokenInTables(page), `${name}: words broken across lines at ${width} px`).toEqual([]);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
}

/** A release through staging and production (a standard change, approved, checklist complete). */
async function shipToProduction(
  rm: Page,
  approver: Page,
  ids: { staging: string; production: string; token: string; serviceId: string },
  version: string,
) {
  const release = await api<{ id: string }>(rm, "releases.create", {
    serviceId: ids.serviceId,
    version,
    artifact: `registry.local/app:${version}`,
  });
  const staged = await api<{ id: string }>(rm, "deployments.start", {
    releaseId: release.id,
    environmentId: ids.staging,
  });
  await expect
    .poll(async () => (await api<{ status: string }>(rm, "deployments.get", { id: staged.id }, "query")).status, {
      timeout: 60_000,
    })
    .toBe("succeeded");
  const items = await api<{ key: string; kind: string }[]>(
    rm,
    "checklist.get",
    { releaseId: release.id, environmentId: ids.production },
    "query",
  );
  for (const item of items) {
    if (item.kind === "manual")
      await api(rm, "checklist.tick", {
        releaseId: release.id,
        environmentId: ids.production,
        key: item.key,
        done: true,
        note: "verified",
      });
    else
      expect(
        (
          await rm.request.post(`/api/v1/releases/${release.id}/evidence`, {
            data: { item: item.key, status: "passed" },
            headers: { Authorization: `Bearer ${ids.token}` },
          })
        ).status(),
      ).toBe(200);
  }
  const change = await api<{ id: string }>(rm, "changes.create", {
    releaseId: release.id,
    environmentId: ids.production,
    type: "standard",
    title: `Ship ${version}`,
  });
  await api(approver, "changes.approve", { id: change.id });
  const d = await api<{ id: string }>(rm, "deployments.start", {
    releaseId: release.id,
    environmentId: ids.production,
  });
  await expect
    .poll(async () => (await api<{ status: string }>(rm, "deployments.get", { id: d.id }, "query")).status, {
      timeout: 60_000,
    })
    .toBe("succeeded");
  return release.id;
}

test.afterAll(async ({ browser, panel }) => stopDemoTraffic(browser, panel));

test("a release manager redeploys an earlier version to production from the service page, through a change request an approver signs", async ({
  browser,
  panel,
}) => {
  test.setTimeout(300_000);
  const rm = await as(browser, panel, "release_manager");
  const approver = await as(browser, panel, "approver");
  const serviceId = (
    await api<{ id: string }>(rm, "services.create", { name: "Atlas", environments: ["staging", "production"] })
  ).id;
  const service = await api<{ environments: { id: string; name: string }[] }>(
    rm,
    "services.get",
    { id: serviceId },
    "query",
  );
  const ids = {
    serviceId,
    staging: service.environments.find((e) => e.name === "staging")!.id,
    production: service.environments.find((e) => e.name === "production")!.id,
    token: "",
  };
  for (const id of [ids.staging, ids.production]) {
    await api(rm, "environments.updatePolicy", { environmentId: id, policy: FAST_POLICY });
    await api(rm, "environments.setTrafficGenerator", { environmentId: id, enabled: true, rate: 20 });
  }
  ids.token = (
    await api<{ token: string }>(rm, "tokens.create", {
      serviceId,
      name: "CI",
      scopes: ["evidence:write"],
      expiresInDays: 30,
    })
  ).token;
  await shipToProduction(rm, approver, ids, "1.0.0");
  await shipToProduction(rm, approver, ids, "1.1.0");

  await rm.goto(`/services/${serviceId}`);
  // The releases are the panel's sortable table: newest first, and by version on a click.
  const releases = rm.getByRole("table", { name: "Releases" });
  const versions = () =>
    releases.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-testid")));
  await expect.poll(versions).toEqual(["release-1.1.0", "release-1.0.0"]);
  await releases.getByRole("button", { name: "Version" }).click();
  await expect(rm).toHaveURL(/[?&]releases-sort=version(&|$)/);
  await expect.poll(versions).toEqual(["release-1.0.0", "release-1.1.0"]);
  await shoot(rm, "scheduling-service");
  await expect(rm.getByTestId("release-1.1.0").getByRole("button", { name: "Redeploy to production…" })).toHaveCount(0);
  await rm.getByTestId("release-1.0.0").getByRole("button", { name: "Redeploy to production…" }).click();
  await expect(rm).toHaveURL(/\/approvals\?change=/);
  const detail = rm.getByTestId("change-detail");
  await expect(
    detail.getByRole("heading", { name: "Redeploy 1.0.0 to production (roll back to a known good version)" }),
  ).toBeVisible();
  await expect(detail.getByTestId("change-status")).toHaveText("pending");
  const changeId = new URL(rm.url()).searchParams.get("change")!;
  await api(approver, "changes.approve", { id: changeId });
  await rm.reload();
  await detail.getByRole("button", { name: "Start production deployment" }).click();
  await expect(rm).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  const deploymentId = rm.url().split("/").pop()!;
  await expect
    .poll(async () => (await api<{ status: string }>(rm, "deployments.get", { id: deploymentId }, "query")).status, {
      timeout: 60_000,
    })
    .toBe("succeeded");
  const live = await api<{ environments: { name: string; liveRelease: { version: string } | null }[] }>(
    rm,
    "services.get",
    { id: serviceId },
    "query",
  );
  expect(live.environments.find((e) => e.name === "production")!.liveRelease?.version).toBe("1.0.0");

  // The service's history, as an auditor reads it: the redeploy on top, its figures rounded as everywhere else (they were shown as stored).
  const auditor = await as(browser, panel, "auditor");
  await auditor.goto(`/services/${serviceId}/history`);
  const history = auditor.getByRole("table", { name: "Deployment history" });
  const newest = history.getByTestId(`deployment-${deploymentId}`);
  await expect(newest).toContainText("1.0.0");
  await expect(newest.locator("dd").first()).toHaveText(/^(\d+(\.\d)? s|\d+ min( \d+ s)?)$/);
  for (const when of await history.locator("tbody tr td:first-child a").allTextContents())
    expect(when).toMatch(/^\d{1,2}\/\d{1,2}\/\d{4}, [0-2]\d:[0-5]\d:[0-5]\d$/);
  // It is the panel's sortable table, each deployment's governance in a row under it: oldest first on a click
  // (1.0.0 to staging), the redeploy last, followed by its governance record naming its change request.
  await history.getByRole("button", { name: "Started", exact: true }).click();
  await expect(auditor).toHaveURL(/[?&]sort=started(&|$)/);
  const rows = history.locator(":scope > tbody > tr");
  await expect(rows.first()).toContainText("1.0.0");
  await expect(rows.first()).toContainText("staging");
  await expect(rows.nth(-2)).toHaveAttribute("data-testid", `deployment-${deploymentId}`);
  await expect(rows.last()).toHaveClass("data-table-detail");
  await expect(rows.last()).toContainText("Redeploy 1.0.0 to production");
  await shoot(auditor, "scheduling-history");
  await auditor.close();
  await approver.close();
  await rm.close();
});

test("a release manager schedules an approved major change into the next window, sees it on the change and the maintenance page, and cancels it", async ({
  browser,
  panel,
}) => {
  const rm = await as(browser, panel, "release_manager");
  const serviceId = (
    await api<{ id: string }>(rm, "services.create", { name: "Vault", environments: ["staging", "production"] })
  ).id;
  const service = await api<{ environments: { id: string; name: string }[] }>(
    rm,
    "services.get",
    { id: serviceId },
    "query",
  );
  const staging = service.environments.find((e) => e.name === "staging")!.id;
  const production = service.environments.find((e) => e.name === "production")!.id;
  for (const id of [staging, production]) {
    await api(rm, "environments.updatePolicy", { environmentId: id, policy: FAST_POLICY });
    await api(rm, "environments.setTrafficGenerator", { environmentId: id, enabled: true, rate: 20 });
  }
  const token = (
    await api<{ token: string }>(rm, "tokens.create", {
      serviceId,
      name: "CI",
      scopes: ["evidence:write"],
      expiresInDays: 30,
    })
  ).token;
  const release = await api<{ id: string }>(rm, "releases.create", {
    serviceId,
    version: "5.0.0",
    artifact: "registry.local/vault:5.0.0",
  });
  const d = await api<{ id: string }>(rm, "deployments.start", { releaseId: release.id, environmentId: staging });
  await expect
    .poll(async () => (await api<{ status: string }>(rm, "deployments.get", { id: d.id }, "query")).status, {
      timeout: 60_000,
    })
    .toBe("succeeded");
  const items = await api<{ key: string; kind: string }[]>(
    rm,
    "checklist.get",
    { releaseId: release.id, environmentId: production },
    "query",
  );
  for (const item of items) {
    if (item.kind === "manual")
      await api(rm, "checklist.tick", {
        releaseId: release.id,
        environmentId: production,
        key: item.key,
        done: true,
        note: "verified",
      });
    else
      expect(
        (
          await rm.request.post(`/api/v1/releases/${release.id}/evidence`, {
            data: { item: item.key, status: "passed" },
            headers: { Authorization: `Bearer ${token}` },
          })
        ).status(),
      ).toBe(200);
  }
  const change = await api<{ id: string }>(rm, "changes.create", {
    releaseId: release.id,
    environmentId: production,
    type: "major",
    title: "Vault key rotation",
    performanceAssessment: "No measurable change",
  });
  const approver = await as(browser, panel, "approver");
  await api(approver, "changes.approve", { id: change.id });
  await approver.close();

  const windows = await api<{ upcoming: { name: string; start: string }[] }>(
    rm,
    "maintenance.windows",
    { serviceId, count: 6 },
    "query",
  );
  const next = windows.upcoming[0]!;

  await rm.goto(`/approvals?change=${change.id}`);
  const schedule = rm.getByTestId("change-schedule");
  await expect(schedule.getByLabel("Start it by itself in")).toBeVisible();
  await schedule.getByRole("button", { name: "Schedule into window" }).click();
  const onChange = schedule.getByTestId("change-scheduled");
  await expect(onChange).toHaveAttribute("data-status", "scheduled");
  await expect(onChange).toContainText(next.name);
  await expect(onChange.getByTestId("schedule-status")).toHaveText("Scheduled");
  await expect(onChange).toContainText(/starts in \d+/);
  await shoot(rm, "scheduling-change");
  // Every change request is in the panel's searchable table, however many other specs have added.
  const changes = rm.getByRole("table", { name: "Change requests" });
  await rm.getByRole("searchbox", { name: "Search change requests" }).fill("Vault key rotation");
  await expect(rm).toHaveURL(/changes-q=Vault\+key\+rotation/);
  await expect(changes.locator("tbody tr")).toHaveCount(1);
  await expect(changes.getByTestId("change-Vault key rotation")).toContainText("approved");

  await rm.goto("/maintenance");
  const row = rm.getByTestId("scheduled-deployment").filter({ hasText: "Vault key rotation" });
  await expect(row).toHaveAttribute("data-status", "scheduled");
  await expect(row).toContainText("Vault 5.0.0 to production");
  await expect(row).toContainText(next.name);
  await row.scrollIntoViewIfNeeded();
  await shoot(rm, "scheduling-maintenance");
  // The list is the panel's searchable table: by the service, release and environment under a change's title.
  const search = rm.getByRole("searchbox", { name: "Search scheduled deployments" });
  await search.fill("staging");
  await expect(rm).toHaveURL(/[?&]scheduled-q=staging(&|$)/);
  await expect(row).toHaveCount(0);
  await search.fill("Vault 5.0.0");
  await expect(row).toBeVisible();
  await search.fill("");

  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row).toHaveAttribute("data-status", "cancelled");
  await expect(row.getByTestId("schedule-status")).toHaveText("Cancelled");
  await rm.close();
});
