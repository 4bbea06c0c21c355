/**
 * The auditor's view. This spec runs its own panel on a fresh PostgreSQL database (TEST_DATABASE_URL),
 * because it alters an audit row behind the panel's back, as someone with database access would.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { testEnvironment } from "../server/config";
import { expect, signIn, test } from "./fixtures";
import { startPanelProcess, type StartedPanel } from "./panel-process";

const ROOT = path.resolve(__dirname, "..");
const adminUrl = testEnvironment().databaseUrl;
let databaseUrl: string;
let databaseName: string;
let panel: StartedPanel | undefined;
let url: string;
const passwords: Record<string, string> = {};

test.describe.configure({ mode: "serial" });
test.skip(!adminUrl, "needs TEST_DATABASE_URL: this spec alters an audit row in PostgreSQL");

async function sql(connectionString: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

test.beforeAll(async () => {
  databaseName = `greenlight_e2e_${randomBytes(5).toString("hex")}`;
  await sql(adminUrl!, `CREATE DATABASE "${databaseName}"`);
  const target = new URL(adminUrl!);
  target.pathname = `/${databaseName}`;
  databaseUrl = target.toString();
  panel = await startPanelProcess({
    DATABASE_URL: databaseUrl,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    SEED_DEMO_USERS: "true",
    DATA_DIR: fs.mkdtempSync(path.join(ROOT, ".cache", "e2e-audit-")),
  });
  url = panel.url;
  Object.assign(passwords, panel.credentials);
});

test.afterAll(async () => {
  await panel?.stop();
  if (databaseName) await sql(adminUrl!, `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
});

test("an auditor filters the history, exports CSV and verifies the chain; after a row is altered, verification names it", async ({
  page,
}) => {
  // Some history to read: an administrator signs in (audited).
  await page.goto(`${url}/signin`);
  await signIn(page, "admin@greenlight.local", passwords["admin@greenlight.local"]!);
  await page.context().clearCookies();

  await page.goto(`${url}/signin`);
  await signIn(page, "auditor@greenlight.local", passwords["auditor@greenlight.local"]!);
  await page.goto(`${url}/audit`);
  await page.getByLabel("Action").fill("auth.signed_in");
  await page.getByRole("button", { name: "Filter" }).click();
  const rows = page.getByRole("table", { name: "Audit events" }).getByRole("row");
  await expect(rows.filter({ hasText: "admin@greenlight.local" }).first()).toBeVisible();
  await expect(rows.filter({ hasText: "user.created" })).toHaveCount(0);

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Export CSV" }).click(),
  ]);
  const csv = fs.readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split(/\r?\n/);
  expect(lines[0]).toMatch(/^seq,/);
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.slice(1).every((line) => line.includes("auth.signed_in"))).toBe(true);

  await page.getByRole("button", { name: "Verify chain" }).click();
  await expect(page.getByTestId("chain-status")).toHaveText("Chain intact");

  // Someone with database access edits event 3 (the trigger has to be switched off to do it).
  await sql(
    databaseUrl,
    `ALTER TABLE "AuditEvent" DISABLE TRIGGER USER; UPDATE "AuditEvent" SET "after" = '{"forged": true}' WHERE seq = 3; ALTER TABLE "AuditEvent" ENABLE TRIGGER USER;`,
  );
  await page.getByRole("button", { name: "Verify chain" }).click();
  await expect(page.getByTestId("chain-status")).toHaveText("Chain broken at event 3");
});
