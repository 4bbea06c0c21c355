/**
 * Builds the panel if needed and starts it exactly as a newcomer would (`node scripts/run.mjs server/main.ts` on a
 * fresh data directory), reading the URL and the demo sign-ins from its console output. The returned
 * function stops it.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { testEnvironment } from "../server/config";
import { PANEL_INFO_FILE, type PanelInfo } from "./panel-info";
import { startPanelProcess } from "./panel-process";

const ROOT = path.resolve(__dirname, "..");

export default async function globalSetup(): Promise<() => Promise<void>> {
  const chromium = testEnvironment().chromiumPath;
  if (!fs.existsSync(chromium))
    throw new Error(
      `Chromium was not found at ${chromium}. Install it (Debian: apt-get install -y chromium-headless-shell, or chromium) or set CHROMIUM_PATH.`,
    );
  const build = spawnSync(process.execPath, [path.join(ROOT, "scripts/ensure-build.mjs")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (build.status !== 0) throw new Error("The production build failed");

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-e2e-"));
  const panel = await startPanelProcess({ DATA_DIR: dataDir });
  const info: PanelInfo = { url: panel.url, credentials: panel.credentials, pid: panel.pid };
  fs.mkdirSync(path.dirname(PANEL_INFO_FILE), { recursive: true });
  fs.writeFileSync(PANEL_INFO_FILE, JSON.stringify(info, null, 2));

  return async () => {
    await panel.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(PANEL_INFO_FILE, { force: true });
  };
}
