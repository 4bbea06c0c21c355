/**
 * Prometheus settings in the browser, against a real Prometheus server started here: an administrator
 * names one for an environment on the Service page; a bad query is refused with Prometheus's own
 * error and nothing is saved; good settings save after the dry run; the bearer token is never shown
 * again; a release manager sees the settings but cannot change them.
 */
import fs from "node:fs";
import { testEnvironment } from "../server/config";
import { startPrometheus, type TestPrometheus } from "../test/helpers/prometheus";
import { api, signedIn } from "./api";
import { expect, test } from "./fixtures";

const binary = testEnvironment().prometheusPath;
test.skip(!fs.existsSync(binary), `skipped because ${binary} is not installed (apt-get install prometheus)`);
test.describe.configure({ mode: "serial" });

let prometheus: TestPrometheus;
test.beforeAll(async () => {
  prometheus = await startPrometheus();
});
test.afterAll(async () => {
  await prometheus?.close();
});

test("an administrator names a Prometheus: a bad query shows Prometheus's own error, good settings save, the token is never shown; a release manager only reads", async ({
  browser,
  panel,
}) => {
  const admin = await signedIn(browser, panel, "admin");
  const service = await api<{ id: string }>(admin, "services.create", {
    name: "Metrics shop",
    slug: "metrics-shop",
    environments: ["staging"],
  });
  await admin.goto(`/services/${service.id}`);
  await admin.getByTestId("environment-staging").getByRole("button", { name: "Settings" }).click();
  const section = admin.getByRole("region", { name: "Prometheus of staging" });
  await expect(section).toContainText("The gates read the target's own figures.");
  await section.getByLabel("Prometheus URL").fill(prometheus.url);
  await section.getByLabel("Bearer token").fill("e2e-secret-token-5d1c");
  await section.getByLabel("Requests (a counter's series)").fill('http_requests_total{slot="{{slot}}"');
  await section.getByRole("button", { name: "Check and save" }).click();
  await expect(section.getByRole("alert")).toContainText(
    /The requests query does not run: Prometheus refused .*parse error/,
  );
  await expect(section).toContainText("The gates read the target's own figures.");

  await section
    .getByLabel("Requests (a counter's series)")
    .fill('http_requests_total{service="{{service}}", environment="{{environment}}", slot="{{slot}}"}');
  await section.getByRole("button", { name: "Check and save" }).click();
  await expect(section).toContainText("Saved. The dry run's series:");
  await expect(section).toContainText(`from ${prometheus.url} (with a bearer token), not from the target`);
  await expect(section.getByLabel("Bearer token")).toHaveValue("");
  await expect(section.getByLabel("Bearer token")).toHaveAttribute("placeholder", "set (leave empty to keep)");
  expect(await admin.content()).not.toContain("e2e-secret-token-5d1c");
  await admin.close();

  const rm = await signedIn(browser, panel, "release_manager");
  await rm.goto(`/services/${service.id}`);
  await rm.getByTestId("environment-staging").getByRole("button", { name: "Settings" }).click();
  const readOnly = rm.getByRole("region", { name: "Prometheus of staging" });
  await expect(readOnly.getByLabel("Prometheus URL")).toHaveValue(prometheus.url);
  await expect(readOnly.getByLabel("Prometheus URL")).toBeDisabled();
  await expect(readOnly.getByRole("button", { name: "Check and save" })).toHaveCount(0);
  expect(await rm.content()).not.toContain("e2e-secret-token-5d1c");
  await rm.close();
});
