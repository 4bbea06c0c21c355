/**
 * `npx tsx scripts/overview-screenshots.ts [services]`: the overview with many services, to look at.
 * Starts a panel with its UI on a fresh embedded database, seeds `services` × 3 environments straight
 * into it (bench/overview.ts), signs a release manager in with Chromium and saves screenshots at 1400
 * and 390 px wide to .cache/screenshots/overview-<width>.png, and page 2 sorted by production's
 * attention, scrolled to the pager, to overview-<width>-pager.png.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "@playwright/test";
import { CHROMIUM_ARGS } from "../playwright.config.ts";
import { startBenchPanel } from "../bench/panel.ts";
import { seedOverview } from "../bench/overview.ts";
import { testEnvironment } from "../server/config.ts";

async function main(): Promise<void> {
  const services = Number(process.argv[2] ?? "500");
  const build = spawnSync(process.execPath, [path.join(__dirname, "ensure-build.mjs")], { stdio: "inherit" });
  if (build.status !== 0) throw new Error("the production build failed");
  const bench = await startBenchPanel({ SERVE_UI: "true" });
  const browser = await chromium.launch({ executablePath: testEnvironment().chromiumPath, args: CHROMIUM_ARGS });
  try {
    const cookie = await bench.user(["release_manager"]);
    const requester = await bench.panel.services.prisma.user.findFirstOrThrow({ select: { id: true } });
    await seedOverview(bench.panel.services.prisma, services, 3, requester.id);
    // Chromium runs with CHROMIUM_ARGS, whose resolver rules let only "localhost" through.
    const url = bench.url.replace("127.0.0.1", "localhost");
    const out = path.join(__dirname, "../.cache/screenshots");
    fs.mkdirSync(out, { recursive: true });
    const pair = cookie.split(";")[0]!;
    const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
    for (const width of [1400, 390]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      await context.addCookies([{ name, value, url }]);
      const page = await context.newPage();
      await page.goto(`${url}/`);
      await page.getByRole("table", { name: "Services" }).locator("tbody tr").first().waitFor();
      await page.screenshot({ path: path.join(out, `overview-${width}.png`) });
      const scroll = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      console.log(`overview-${width}.png`, JSON.stringify(scroll));
      // Sorted by what needs attention in production, and the pager under the page's 50 rows.
      await page.goto(`${url}/?sort=env:production&page=2`);
      await page.getByRole("navigation", { name: "Pages" }).scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(out, `overview-${width}-pager.png`) });
      console.log(`overview-${width}-pager.png`);
      await context.close();
    }
  } finally {
    await browser.close();
    await bench.close();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
