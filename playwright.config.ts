/**
 * End-to-end tests: a production build of the panel, started as `npm start` starts it (on a fresh
 * embedded database, an OS-chosen port), driven by Debian's Chromium.
 */
import { defineConfig } from "@playwright/test";
import { testEnvironment } from "./server/config";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  // Without this Chromium keeps looking up Google's hosts on a machine with no internet.
  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
];

export default defineConfig({
  testDir: "e2e",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // Spec files run two at a time against the one panel (each builds its own service and data);
  // tests inside a file run in order.
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [["list"]],
  globalSetup: "./e2e/global-setup.ts",
  outputDir: ".cache/playwright-results",
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: testEnvironment().chromiumPath, args: CHROMIUM_ARGS },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
