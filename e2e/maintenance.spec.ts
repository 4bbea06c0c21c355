/**
 * Maintenance windows, subscriptions and the notification centre through the browser. The panel
 * starts with the default rule "Monthly maintenance" (second Sunday, 02:00–04:00 America/New_York).
 * The browser runs in Europe/Berlin so "your time" and the rule's time differ. Every rule and
 * emergency made here has a unique name and is removed again, so other specs never see them.
 */
import type { Page } from "@playwright/test";
import { jsonFromPanel, signInOverHttpAs } from "./api";
import { expect, test } from "./fixtures";

test.use({ timezoneId: "Europe/Berlin", locale: "en-GB" });

const unique = (label: string) => `${label} ${Date.now().toString(36)}`;

/** A tRPC call from the page's own session (superjson's plain-JSON envelope). */
async function call<T = unknown>(
  page: Page,
  path: string,
  input?: unknown,
  method: "query" | "mutation" = "mutation",
): Promise<T> {
  const response =
    method === "query"
      ? await page.request.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input ?? null }))}`)
      : await page.request.post(`/api/trpc/${path}`, { data: { json: input }, headers: jsonFromPanel() });
  expect(response.ok(), `${path}: ${await response.text()}`).toBe(true);
  return ((await response.json()) as { result: { data: { json: T } } }).result.data.json;
}

function ruleForm(page: Page) {
  return page.getByRole("form", { name: "Add a window rule" });
}

async function fillRule(
  page: Page,
  rule: { name: string; timezone: string; preset?: string; rrule?: string; start: string; minutes: string },
) {
  const form = ruleForm(page);
  await form.getByLabel("Name", { exact: true }).fill(rule.name);
  await form.getByLabel("Time zone", { exact: true }).fill(rule.timezone);
  if (rule.preset) await form.getByLabel("Preset", { exact: true }).selectOption({ label: rule.preset });
  if (rule.rrule) await form.getByLabel("Recurrence (RRULE)").fill(rule.rrule);
  await form.getByLabel("Start time (HH:MM)").fill(rule.start);
  await form.getByLabel("Duration (minutes, at most 120)").fill(rule.minutes);
}

test("an administrator sees the default window among the upcoming ones, in New York time and their own, with a countdown", async ({
  page,
  panel,
}) => {
  await signInOverHttpAs(page, panel, "admin");
  await page.goto("/maintenance");
  const upcoming = page.getByTestId("upcoming-windows");
  await expect(upcoming).toBeVisible();
  await expect(upcoming.getByRole("columnheader", { name: "Your time (Europe/Berlin)" })).toBeVisible();
  const rows = upcoming.getByTestId("upcoming-window");
  expect(await rows.count()).toBeLessThanOrEqual(6);

  const monthly = rows.filter({ hasText: "Monthly maintenance" }).first();
  // 02:00–04:00 on the second Sunday in New York (03:00 when the clocks spring forward that night) …
  await expect(monthly.getByTestId("window-rule-zone")).toContainText(
    /^Sun, \d{1,2} \w{3} \d{4}, 0[23]:00–04:00 E[SD]T/,
  );
  await expect(monthly.getByTestId("window-rule-zone")).toContainText("America/New_York");
  // … is 08:00 in Berlin, whatever either side's daylight-saving time.
  await expect(monthly.getByTestId("window-local")).toContainText(/^Sun, \d{1,2} \w{3} \d{4}, 08:00–(09|10):00 CES?T$/);
  const countdown = monthly.getByTestId("window-countdown");
  await expect(countdown).toHaveText(/^in (\d+ d \d+ h|\d+ h \d+ min|\d+ min \d+ s|\d+ s)$/);

  // The countdown agrees with the window's start as the server computed it.
  const windows = await call<{ upcoming: { name: string; start: string }[] }>(
    page,
    "maintenance.windows",
    { count: 6 },
    "query",
  );
  const start = new Date(windows.upcoming.find((w) => w.name === "Monthly maintenance")!.start).getTime();
  const days = Math.floor((start - Date.now()) / 86_400_000);
  if (days >= 1) await expect(countdown).toHaveText(new RegExp(`^in (${days}|${days - 1}) d `));
  await expect(page.getByRole("table", { name: "Window rules" }).getByTestId("rule-Monthly maintenance")).toContainText(
    "FREQ=MONTHLY;BYDAY=+2SU",
  );
});

test("an administrator adding a 3-hour window gets the server's message naming the duration in words, and nothing is added", async ({
  page,
  panel,
}) => {
  await signInOverHttpAs(page, panel, "admin");
  await page.goto("/maintenance");
  const name = unique("Too long");
  await fillRule(page, { name, timezone: "Europe/Berlin", preset: "Weekly, Sunday", start: "13:00", minutes: "180" });
  await ruleForm(page).getByRole("button", { name: "Add window rule" }).click();
  await expect(ruleForm(page).getByRole("alert")).toContainText("Duration in minutes: must be at most 120 minutes");
  await expect(page.getByRole("table", { name: "Window rules" })).not.toContainText(name);
});

test("a rule that overlaps the default window is refused, naming the overlap", async ({ page, panel }) => {
  await signInOverHttpAs(page, panel, "admin");
  await page.goto("/maintenance");
  const name = unique("Sunday night");
  // Every Sunday 03:00–04:00 in New York collides with the second Sunday's 02:00–04:00.
  await fillRule(page, { name, timezone: "America/New_York", preset: "Weekly, Sunday", start: "03:00", minutes: "60" });
  await ruleForm(page).getByRole("button", { name: "Add window rule" }).click();
  const alert = ruleForm(page).getByRole("alert");
  await expect(alert).toContainText('The recurrence rule overlaps the window "Monthly maintenance"');
  await expect(page.getByRole("table", { name: "Window rules" })).not.toContainText(name);

  // An unknown time zone is refused too, naming the field.
  await fillRule(page, { name, timezone: "Mars/Olympus_Mons", preset: "Daily", start: "03:00", minutes: "30" });
  await ruleForm(page).getByRole("button", { name: "Add window rule" }).click();
  await expect(alert).toContainText("Time zone: must be an IANA time zone");
});

test("an administrator adds a rule, edits it, deactivates it and deletes it; the upcoming windows follow", async ({
  page,
  panel,
}) => {
  await signInOverHttpAs(page, panel, "admin");
  await page.goto("/maintenance");
  const name = unique("Ledger patching");
  await fillRule(page, {
    name,
    timezone: "Asia/Kathmandu",
    rrule: "FREQ=WEEKLY;BYDAY=WE",
    start: "13:17",
    minutes: "45",
  });
  await expect(ruleForm(page).getByTestId("recurrence-preview")).toContainText("every week on Wednesday");
  await ruleForm(page).getByRole("button", { name: "Add window rule" }).click();
  const row = page.getByTestId(`rule-${name}`);
  await expect(row).toContainText("Asia/Kathmandu");
  await expect(row).toContainText("45 min");
  // The rules are the panel's sortable table: by name the new rule comes before "Monthly maintenance" (added
  // before it), and after it the other way round.
  const ruleTable = page.getByRole("table", { name: "Window rules" });
  const order = async () => {
    const names = await ruleTable.locator("tbody tr td:first-child").allTextContents();
    const [mine, monthly] = [names.indexOf(name), names.indexOf("Monthly maintenance")];
    return mine < 0 || monthly < 0 ? Number.NaN : mine - monthly;
  };
  await ruleTable.getByRole("button", { name: "Name" }).click();
  await expect(page).toHaveURL(/[?&]rules-sort=name(&|$)/);
  await expect.poll(order).toBeLessThan(0);
  await ruleTable.getByRole("button", { name: "Name" }).click();
  await expect(page).toHaveURL(/[?&]rules-sort=-name(&|$)/);
  await expect.poll(order).toBeGreaterThan(0);
  // Weekly, so it is among the next six windows, at its own zone's time.
  const upcoming = page.getByTestId("upcoming-windows").getByTestId("upcoming-window").filter({ hasText: name });
  await expect(upcoming.first().getByTestId("window-rule-zone")).toContainText(
    /^Wed, \d{1,2} \w{3} \d{4}, 13:17–14:02 GMT\+5:45/,
  );

  await row.getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("form", { name: "Edit window rule" });
  await edit.getByLabel("Duration (minutes, at most 120)").fill("30");
  await edit.getByRole("button", { name: "Save rule" }).click();
  await expect(row).toContainText("30 min");
  await expect(edit).toBeHidden();

  await row.getByRole("button", { name: "Deactivate" }).click();
  await expect(row).toContainText("inactive");
  await expect(upcoming).toHaveCount(0);

  page.once("dialog", (dialog) => void dialog.accept());
  await row.getByRole("button", { name: "Delete" }).click();
  await expect(row).toHaveCount(0);
  const rules = await call<{ name: string }[]>(page, "maintenance.rules", undefined, "query");
  expect(rules.map((r) => r.name)).not.toContain(name);
});

test("a viewer subscribes to maintenance notices and the toggle stays on after a reload", async ({ page, panel }) => {
  await signInOverHttpAs(page, panel, "viewer");
  await page.goto("/maintenance");
  const notices = page.getByRole("switch", { name: "Maintenance window notices (1 week, 24 hours and 1 hour before)" });
  const incidents = page.getByRole("switch", { name: "Incidents (emergencies and reviews)" });
  await notices.check();
  await expect(notices).toBeChecked();
  await expect(notices).toBeEnabled(); // saved
  await page.reload();
  await expect(notices).toBeChecked();
  await expect(notices).toBeEnabled();
  await expect(incidents).not.toBeChecked();
  expect(await call<Record<string, boolean>>(page, "me.subscriptions", undefined, "query")).toEqual({
    maintenance: true,
    incidents: false,
  });

  // And off again, for good.
  await notices.uncheck();
  await expect(notices).toBeEnabled();
  await page.reload();
  await expect(notices).not.toBeChecked();
});

test("the CTO's bell counts a new emergency request live, the notification opens it, and Mark all read takes the count to 0", async ({
  page,
  panel,
  browser,
}) => {
  const bell = page.getByRole("link", { name: /^Notifications, \d+ unread$/ });
  const count = page.getByTestId("unread-count");
  await signInOverHttpAs(page, panel, "cto");
  await page.goto("/notifications");
  await expect(page.getByTestId("notifications-unread")).toBeVisible();
  // Start from nothing unread, so the count below is this test's.
  const markAll = page.getByRole("button", { name: "Mark all read" });
  if (await markAll.isEnabled()) await markAll.click();
  await expect(bell).toHaveAccessibleName("Notifications, 0 unread");
  await expect(count).toBeHidden();

  const oncall = await browser.newPage();
  let emergencyId: string | null = null;
  try {
    await signInOverHttpAs(oncall, panel, "oncall");
    await oncall.goto("/maintenance");
    const reason = unique("Bell check: payments API returning 502");
    const request = oncall.getByRole("form", { name: "Request emergency maintenance" });
    await request.getByLabel("Reason").fill(reason);
    await request.getByLabel("Impact").fill("Checkout unavailable for some customers");
    await request.getByLabel("Planned actions").fill("Restart the payments pods");
    await request.getByRole("button", { name: "Request emergency maintenance" }).click();
    // The outcome, whichever it is (a refusal shows its message here).
    await expect(request.getByRole("alert").or(request.getByRole("status"))).toContainText("Requested.");
    const card = oncall.locator('article[data-testid^="emergency-"]').filter({ hasText: reason });
    await expect(card).toContainText("awaiting authorisation");
    emergencyId = (await card.getAttribute("data-testid"))!.replace("emergency-", "");

    // The CTO's page updates without a reload: the bell and the list.
    await expect(count).toHaveText(/^[1-9]\d*$/);
    await expect(bell).toHaveAccessibleName(`Notifications, ${await count.textContent()} unread`);
    const item = page.locator("li").filter({ hasText: reason });
    await expect(item).toContainText("Emergency maintenance requested");
    await expect(item).toHaveAttribute("data-unread", "true");

    await markAll.click();
    await expect(count).toBeHidden();
    await expect(bell).toHaveAccessibleName("Notifications, 0 unread");
    await expect(item).toHaveAttribute("data-unread", "false");
    await expect(item.getByRole("button", { name: "Mark read" })).toHaveCount(0);
    await page.reload();
    await expect(bell).toHaveAccessibleName("Notifications, 0 unread");

    // "Open" deep-links to the emergency on the maintenance page, highlighted.
    await page.locator("li").filter({ hasText: reason }).getByRole("link", { name: "Open" }).click();
    await expect(page).toHaveURL(new RegExp(`/maintenance\\?emergency=${emergencyId}$`));
    const target = page.getByTestId(`emergency-${emergencyId}`);
    await expect(target).toHaveClass(/mx-focused/);
    await expect(target).toBeInViewport();
    await expect(target.getByRole("button", { name: "Authorise" })).toBeVisible();
  } finally {
    if (emergencyId) await call(oncall, "maintenance.closeEmergency", { id: emergencyId });
    await oncall.close();
  }
});
