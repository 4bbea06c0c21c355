/**
 * Governance through the browser: change requests and approvals, separation of duties, maintenance
 * windows and emergency maintenance. Fast deployment policies are set through the API.
 */
import type { Page } from "@playwright/test";
import { api, jsonFromPanel, signedIn as as, stopDemoTraffic } from "./api";
import { demoPassword, expect, signIn, test } from "./fixtures";
import { FAST_POLICY } from "./policies";

test.describe.configure({ mode: "serial" });

let serviceId: string;
let staging: string;
let production: string;
let ciToken: string;

async function releaseThroughStaging(rm: Page, version: string): Promise<string> {
  const release = await api<{ id: string }>(rm, "releases.create", {
    serviceId,
    version,
    artifact: `registry.local/ledger:${version}`,
  });
  const d = await api<{ id: string }>(rm, "deployments.start", { releaseId: release.id, environmentId: staging });
  await expect
    .poll(async () => (await api<{ status: string }>(rm, "deployments.get", { id: d.id }, "query")).status, {
      timeout: 60_000,
    })
    .toBe("succeeded");
  return release.id;
}

async function completeChecklist(rm: Page, releaseId: string) {
  const items = await api<{ key: string; kind: string }[]>(
    rm,
    "checklist.get",
    { releaseId, environmentId: production },
    "query",
  );
  for (const item of items) {
    if (item.kind === "manual")
      await api(rm, "checklist.tick", {
        releaseId,
        environmentId: production,
        key: item.key,
        done: true,
        note: "verified",
      });
    else {
      const response = await rm.request.post(`/api/v1/releases/${releaseId}/evidence`, {
        data: { item: item.key, status: "passed", url: "https://ci.example.com/run/7" },
        headers: { Authorization: `Bearer ${ciToken}` },
      });
      expect(response.status()).toBe(200);
    }
  }
}

test.beforeAll(async ({ browser, panel }) => {
  const rm = await as(browser, panel, "release_manager");
  serviceId = (
    await api<{ id: string }>(rm, "services.create", { name: "Ledger", environments: ["staging", "production"] })
  ).id;
  const service = await api<{ environments: { id: string; name: string }[] }>(
    rm,
    "services.get",
    { id: serviceId },
    "query",
  );
  staging = service.environments.find((e) => e.name === "staging")!.id;
  production = service.environments.find((e) => e.name === "production")!.id;
  for (const id of [staging, production]) {
    await api(rm, "environments.updatePolicy", { environmentId: id, policy: FAST_POLICY });
    await api(rm, "environments.setTrafficGenerator", { environmentId: id, enabled: true, rate: 20 });
  }
  ciToken = (
    await api<{ token: string }>(rm, "tokens.create", {
      serviceId,
      name: "CI",
      scopes: ["evidence:write"],
      expiresInDays: 30,
    })
  ).token;
  await rm.close();
});

test.afterAll(async ({ browser, panel }) => stopDemoTraffic(browser, panel));

test("a user-facing change cannot start with only the approver's sign-off; it starts once a business stakeholder signs", async ({
  browser,
  panel,
}) => {
  test.setTimeout(180_000);
  const rm = await as(browser, panel, "release_manager");
  const releaseId = await releaseThroughStaging(rm, "1.0.0");
  await completeChecklist(rm, releaseId);

  // The release manager requests the change in the UI.
  await rm.goto("/approvals");
  await rm.getByRole("button", { name: "Request a change" }).click();
  const form = rm.getByRole("form", { name: "Request a change" });
  await form.getByLabel("Service").selectOption({ label: "Ledger" });
  await form.getByLabel("Release").selectOption({ label: "1.0.0" });
  await form.getByLabel("Change type").selectOption("user_facing");
  await form.getByLabel("Title").fill("Ledger 1.0.0 to production");
  await form.getByRole("button", { name: "Request approval" }).click();
  await expect(rm.getByTestId("change-detail")).toContainText("Ledger 1.0.0 to production");

  // The approver signs from their inbox.
  const approver = await as(browser, panel, "approver");
  await approver.goto("/approvals");
  await approver.getByText("Ledger 1.0.0 to production").first().click();
  await approver.getByRole("button", { name: "Approve", exact: true }).click();
  await expect(approver.getByTestId("required-approver")).toContainText("approved by Demo Approver");

  // Not enough: the start is refused, and the page says why.
  await rm.reload();
  await rm.getByRole("button", { name: "Start production deployment" }).waitFor({ state: "detached" });
  const refused = await rm.request.post("/api/trpc/deployments.start", {
    data: { json: { releaseId, environmentId: production } },
    headers: jsonFromPanel(),
  });
  expect(refused.status()).toBe(412);
  const { message, data } = (
    (await refused.json()) as {
      error: { json: { message: string; data: { field: string | null } } };
    }
  ).error.json;
  expect(message).toBe(
    'The change request "Ledger 1.0.0 to production" still needs approval from a business stakeholder',
  );
  expect(data.field).toBe("changeRequest");

  // A business stakeholder signs; now it starts, from the button.
  const stakeholder = await as(browser, panel, "business_stakeholder");
  await stakeholder.goto("/approvals");
  await stakeholder.getByText("Ledger 1.0.0 to production").first().click();
  await stakeholder.getByRole("button", { name: "Approve", exact: true }).click();
  await expect(stakeholder.getByTestId("change-status")).toHaveText("approved");

  await rm.reload();
  await rm.getByRole("button", { name: "Start production deployment" }).click();
  await expect(rm).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  await expect(rm.getByTestId("deployment-status")).toHaveText("succeeded", { timeout: 90_000 });
  await rm.getByRole("link", { name: "Change record" }).click();
  await expect(rm.getByRole("table", { name: "Approvals" })).toContainText("Demo Business stakeholder");
  await Promise.all([rm.close(), approver.close(), stakeholder.close()]);
});

test("the requester cannot approve their own change, in the UI or through the API", async ({ browser, panel }) => {
  // The admin gives the release manager the approver role too, so the button is there to press.
  const admin = await as(browser, panel, "admin");
  const users = await api<{ id: string; email: string; roles: string[] }[]>(admin, "users.list", undefined, "query");
  const rmUser = users.find((u) => u.email === "release-manager@greenlight.local")!;
  await api(admin, "users.update", { id: rmUser.id, roles: ["release_manager", "approver"] });
  try {
    const rm = await as(browser, panel, "release_manager");
    const release = await api<{ id: string }>(rm, "releases.create", {
      serviceId,
      version: "1.1.0",
      artifact: "registry.local/ledger:1.1.0",
    });
    const change = await api<{ id: string }>(rm, "changes.create", {
      releaseId: release.id,
      environmentId: production,
      type: "standard",
      title: "My own change",
    });
    await rm.goto(`/approvals?change=${change.id}`);
    // The page offers no Approve button to the requester, and says why; the server refuses it anyway.
    await expect(rm.getByTestId("own-change")).toHaveText("You requested this change; someone else must approve it.");
    await expect(rm.getByRole("button", { name: "Approve", exact: true })).toHaveCount(0);
    const viaApi = await rm.request.post("/api/trpc/changes.approve", {
      data: { json: { id: change.id } },
      headers: jsonFromPanel(),
    });
    expect(viaApi.status()).toBe(403);
    await expect(rm.getByTestId("change-status")).toHaveText("pending");
    await rm.close();
  } finally {
    await api(admin, "users.update", { id: rmUser.id, roles: ["release_manager"] });
    await admin.close();
  }
});

test("a major change outside a window is refused, naming the next window in the user's time zone", async ({
  browser,
  panel,
}) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ timezoneId: "Asia/Tokyo" });
  const rm = await context.newPage();
  await signIn(rm, "release-manager@greenlight.local", demoPassword(panel, "release-manager@greenlight.local"));
  const releaseId = await releaseThroughStaging(rm, "2.0.0");
  await completeChecklist(rm, releaseId);
  const change = await api<{ id: string }>(rm, "changes.create", {
    releaseId,
    environmentId: production,
    type: "major",
    title: "Ledger 2.0 schema",
    performanceAssessment: "p95 +2 ms under load test",
  });
  const approver = await as(browser, panel, "approver");
  await api(approver, "changes.approve", { id: change.id });
  await approver.close();

  // Whatever the wall clock says, no window is open while this runs: the global rules are paused and Ledger
  // gets a daily window of its own that opens six hours from now.
  const admin = await as(browser, panel, "admin");
  const paused = (
    await api<
      {
        id: string;
        name: string;
        timezone: string;
        rrule: string;
        startTime: string;
        durationMinutes: number;
        serviceId: string | null;
        active: boolean;
      }[]
    >(admin, "maintenance.rules", undefined, "query")
  ).filter((r) => r.active);
  const ruleOf = (r: (typeof paused)[number]) => ({
    name: r.name,
    timezone: r.timezone,
    rrule: r.rrule,
    startTime: r.startTime,
    durationMinutes: r.durationMinutes,
    serviceId: r.serviceId,
  });
  for (const r of paused) await api(admin, "maintenance.updateRule", { id: r.id, rule: ruleOf(r), active: false });
  const opens = new Date(Date.now() + 6 * 3_600_000);
  const startTime = `${String(opens.getUTCHours()).padStart(2, "0")}:${String(opens.getUTCMinutes()).padStart(2, "0")}`;
  const own = await api<{ id: string }>(admin, "maintenance.createRule", {
    name: "Ledger daily",
    timezone: "UTC",
    rrule: "FREQ=DAILY",
    startTime,
    durationMinutes: 30,
    serviceId,
  });
  try {
    const windows = await api<{ current: unknown; upcoming: { start: string }[] }>(
      rm,
      "maintenance.windows",
      { serviceId },
      "query",
    );
    expect(windows.current).toBeNull();
    await rm.goto(`/approvals?change=${change.id}`);
    await rm.getByRole("button", { name: "Start production deployment" }).click();
    const day = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Tokyo",
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
    }).format(new Date(windows.upcoming[0]!.start));
    const message = rm
      .getByRole("alert")
      .filter({ hasText: "Major changes in production may start only inside a maintenance window" });
    await expect(message).toContainText(`the next is ${day}, `);
    await expect(message).toContainText("(Asia/Tokyo)");
  } finally {
    await api(admin, "maintenance.deleteRule", { id: own.id });
    for (const r of paused) await api(admin, "maintenance.updateRule", { id: r.id, rule: ruleOf(r), active: true });
    await admin.close();
    await context.close();
  }
});

test("a CTO authorises an emergency; the deployment starts outside the window; the review appears with its 24-hour due time", async ({
  browser,
  panel,
}) => {
  test.setTimeout(180_000);
  const oncall = await as(browser, panel, "oncall");
  await oncall.goto("/maintenance");
  const request = oncall.getByRole("form", { name: "Request emergency maintenance" });
  await request.getByLabel("Reason").fill("Ledger double-posting payments");
  await request.getByLabel("Impact").fill("Customers charged twice");
  await request.getByLabel("Planned actions").fill("Deploy hotfix 2.0.1 to production");
  await request.getByRole("button", { name: "Request emergency maintenance" }).click();
  await expect(oncall.getByText("Ledger double-posting payments").first()).toBeVisible();

  const cto = await as(browser, panel, "cto");
  await cto.goto("/maintenance");
  const card = cto.locator('[data-testid^="emergency-"]').filter({ hasText: "Ledger double-posting payments" });
  const authorisedAt = Date.now();
  await card.getByRole("button", { name: "Authorise" }).click();
  await expect(card).toContainText(/authori[sz]ed/i);
  const review = cto
    .locator('[data-testid^="review-"]')
    .filter({ hasText: "Ledger double-posting payments" })
    .or(cto.locator('[data-testid^="review-"]').first());
  const due = await review.getByTestId("review-due").first().textContent();
  expect(due).toBeTruthy();

  // The hotfix goes straight to production: no window, no approvals, no staging first.
  const rm = await as(browser, panel, "release_manager");
  const hotfix = await api<{ id: string }>(rm, "releases.create", {
    serviceId,
    version: "2.0.1",
    artifact: "registry.local/ledger:2.0.1",
  });
  await rm.goto(`/services/${serviceId}`);
  await rm.getByTestId("release-2.0.1").getByRole("button", { name: "production", exact: true }).click();
  await expect(rm).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/);
  await expect(rm.getByText("emergency").first()).toBeVisible();
  await expect(rm.getByTestId("deployment-status")).toHaveText("succeeded", { timeout: 90_000 });

  const emergencies = await api<{ reason: string; review: { dueAt: string } | null }[]>(
    cto,
    "maintenance.emergencies",
    undefined,
    "query",
  );
  const dueAt = new Date(
    emergencies.find((e) => e.reason === "Ledger double-posting payments")!.review!.dueAt,
  ).getTime();
  expect(dueAt - authorisedAt).toBeGreaterThan(24 * 3600_000 - 60_000);
  expect(dueAt - authorisedAt).toBeLessThan(24 * 3600_000 + 60_000);
  void hotfix;
  await Promise.all([oncall.close(), cto.close(), rm.close()]);
});
