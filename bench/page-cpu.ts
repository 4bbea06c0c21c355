/**
 * `npm run bench -- page-cpu [--seconds 30] [--rate 20]`: how busy an open deployment page keeps the
 * browser. A deployment on the local target bakes with `rate` requests/s of demo traffic; Chromium
 * shows its page, and over `seconds` Chrome's own accounting (the DevTools protocol's TaskDuration and
 * ScriptDuration) says how much of that time the page's main thread spent working. The page takes a
 * metrics sample, the split and the status detail every second; a release manager keeps it open for
 * the length of a release. Prints `BENCH page-cpu seconds rate points main_thread_busy_pct script_pct`.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { chromium } from "@playwright/test";
import { CHROMIUM_ARGS } from "../playwright.config.ts";
import { testEnvironment } from "../server/config.ts";
import { DEFAULT_GATES } from "../server/releases/policy.ts";
import { panelClient } from "../test/helpers/panel-client.ts";
import { startBenchPanel } from "./panel.ts";
import { benchLine } from "./stats.ts";

type Metrics = Record<string, number>;

export async function runPageCpuBench(options: { seconds: number; rate: number }): Promise<string> {
  const build = spawnSync(process.execPath, [path.join(__dirname, "../scripts/ensure-build.mjs")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (build.status !== 0) throw new Error("the production build failed");
  const bench = await startBenchPanel({ SERVE_UI: "true" });
  const browser = await chromium.launch({ executablePath: testEnvironment().chromiumPath, args: CHROMIUM_ARGS });
  try {
    const cookie = await bench.user(["release_manager"]);
    const rm = panelClient(bench.url, cookie);
    const service = await rm.services.create.mutate({ name: "Page bench", environments: ["staging"] });
    const env = await bench.panel.services.prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } });
    await rm.environments.updatePolicy.mutate({
      environmentId: env.id,
      policy: {
        steps: [10, 50, 100],
        // Baking for the whole measurement: the page is live throughout.
        bakeSeconds: 3600,
        gates: { ...DEFAULT_GATES, minRequests: 10 },
        validationSeconds: 1,
        scaleDownDelaySeconds: 3600,
        greenReadyTimeoutSeconds: 60,
        smokeTests: [],
      },
    });
    await rm.environments.setTrafficGenerator.mutate({ environmentId: env.id, enabled: true, rate: options.rate });
    const release = await rm.releases.create.mutate({
      serviceId: service.id,
      version: "1.0.0",
      artifact: "demo:1.0.0",
    });
    const deployment = await rm.deployments.start.mutate({ releaseId: release.id, environmentId: env.id });

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const [name, value] = cookie.split("=") as [string, string];
    await context.addCookies([{ name, value, url: bench.url }]);
    const page = await context.newPage();
    await page.goto(`${bench.url}/deployments/${deployment.id}`);
    const status = page.getByTestId("deployment-status");
    await status.filter({ hasText: /^shifting$/ }).waitFor({ timeout: 120_000 });
    await page.getByTestId("charts").waitFor();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const read = async (): Promise<Metrics> =>
      Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    const before = await read();
    await page.waitForTimeout(options.seconds * 1000);
    const after = await read();
    const elapsed = after.Timestamp! - before.Timestamp!;
    const share = (metric: string) => (100 * (after[metric]! - before[metric]!)) / elapsed;
    return benchLine("page-cpu", {
      seconds: options.seconds,
      rate: options.rate,
      points: Number(await page.getByTestId("charts").getAttribute("data-points")),
      main_thread_busy_pct: share("TaskDuration"),
      script_pct: share("ScriptDuration"),
    });
  } finally {
    await browser.close();
    await bench.close();
  }
}
