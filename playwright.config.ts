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
  // Without this Chromium keeps looking up Google's hosts on a machine with no internet. The rule
  // reaches IP literals too: 127.0.0.1 is excluded for the single sign-on spec's identity provider.
  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
];

export default defineConfig({
  testDir: "e2e",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // Two spec files at a time against the one panel; tests inside a file run in order. Governance,
  // maintenance and scheduling touch shared state (notifications to the CTO, global window rules, the
  // change requests every approver sees), so they are one project that runs one file at a time
  // (workers: 1), on one worker beside the other specs. The others build their own service and data
  // (the audit and single sign-on specs run panels of their own). Not project dependencies: Playwright
  // runs a dependent project only after every project before it has finished, which left one worker
  // idle for the last three minutes of a run.
  fullyParallel: false,
  workers: 2,
  projects: [
    // Playwright starts a project's files in name order, so releases.spec, whose first test takes a release
    // through staging and production (about a minute), started last and ended the run on one worker. As a
    // project of its own, listed first, it starts at once.
    { name: "long-journey", testMatch: ["releases.spec.ts"] },
    {
      name: "shared-state",
      testMatch: ["governance.spec.ts", "maintenance.spec.ts", "scheduling.spec.ts"],
      workers: 1,
    },
    {
      name: "independent",
      testMatch: [
        "auth.spec.ts",
        "cockpit-overview.spec.ts",
        "audit.spec.ts",
        "http-robustness.spec.ts",
        "pipelines.spec.ts",
        "prometheus.spec.ts",
        "deployment-page.spec.ts",
        "single-sign-on.spec.ts",
      ],
    },
  ],
  retries: 0,
  reporter: [["list"]],
  globalSetup: "./e2e/global-setup.ts",
  outputDir: ".cache/playwright-results",
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: testEnvironment().chromiumPath, args: CHROMIUM_ARGS },
    // No trace recording in `npm test`: retain-on-failure records every test (a screencast and a DOM
    // snapshot per action) to keep the failures' — about a fifth of the browser tier's CPU (two specs:
    // 145 CPU-s with it, 107–126 without) — and a CI machine's traces are gone with it. To debug a
    // failing spec, record one: `npm run test:e2e -- e2e/<spec> --trace on`.
    trace: "off",
    screenshot: "only-on-failure",
  },
});
