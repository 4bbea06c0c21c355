/**
 * Builds the panel if needed and starts it exactly as a newcomer would (`tsx server/main.ts` on a
 * fresh data directory), reading the URL and the demo sign-ins from its console output. The returned
 * function stops it.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { testEnvironment } from "../server/config";
import { PANEL_INFO_FILE, type PanelInfo } from "./panel-info";

const ROOT = path.resolve(__dirname, "..");

export default async function globalSetup(): Promise<() => Promise<void>> {
  const chromium = testEnvironment().chromiumPath;
  if (!fs.existsSync(chromium))
    throw new Error(
      `Chromium was not found at ${chromium}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.`,
    );
  const build = spawnSync(process.execPath, [path.join(ROOT, "scripts/ensure-build.mjs")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (build.status !== 0) throw new Error("The production build failed");

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-e2e-"));
  const keep = ["PATH", "HOME", "LANG", "TZ"].filter((k) => process.env[k] !== undefined);
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(keep.map((k) => [k, process.env[k]])),
      NODE_ENV: "production",
      DATA_DIR: dataDir,
      PORT: "0",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += String(chunk)));
  child.stderr.on("data", (chunk) => (output += String(chunk)));

  const deadline = Date.now() + 120_000;
  while (!/Demo sign-ins[\s\S]*admin@greenlight\.local\s+\S+/.test(output)) {
    if (child.exitCode !== null) throw new Error(`The panel exited during start-up:\n${output}`);
    if (Date.now() > deadline) throw new Error(`The panel did not start within 2 minutes:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = /is running at (http:\/\/\S+)/.exec(output)![1]!;
  const credentials: PanelInfo["credentials"] = {};
  for (const match of output.matchAll(/(\S+)@greenlight\.local\s+(\S{4}-\S{4}-\S{4}-\S{4})/g))
    credentials[`${match[1]}@greenlight.local`] = match[2]!;
  const info: PanelInfo = { url, credentials, pid: child.pid! };
  fs.mkdirSync(path.dirname(PANEL_INFO_FILE), { recursive: true });
  fs.writeFileSync(PANEL_INFO_FILE, JSON.stringify(info, null, 2));

  return async () => {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(PANEL_INFO_FILE, { force: true });
  };
}
