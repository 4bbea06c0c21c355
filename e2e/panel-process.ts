/**
 * A panel started as a newcomer starts it (`tsx server/main.ts`, production build, an OS-chosen port),
 * for global setup's shared panel and for the specs that need one of their own (their own database,
 * their own identity provider). It reads the URL and the demo sign-ins from the console.
 */
import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

export interface PanelProcess {
  url: string;
  pid: number;
  /** The demo sign-ins the panel printed: e-mail → one-time password. */
  credentials: Record<string, string>;
  /** SIGTERM, then resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts the panel with `env` on top of PATH, HOME, LANG and TZ; resolves once it has printed its sign-ins. */
export async function startPanelProcess(env: Record<string, string>): Promise<PanelProcess> {
  const keep = ["PATH", "HOME", "LANG", "TZ"].filter((k) => process.env[k] !== undefined);
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(keep.map((k) => [k, process.env[k]])),
      NODE_ENV: "production",
      PORT: "0",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += String(chunk)));
  child.stderr.on("data", (chunk) => (output += String(chunk)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  };

  const deadline = Date.now() + 120_000;
  while (!/Demo sign-ins[\s\S]*admin@greenlight\.local\s+\S{4}-/.test(output)) {
    if (child.exitCode !== null) throw new Error(`The panel exited during start-up:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`The panel did not start within 2 minutes:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const credentials: Record<string, string> = {};
  for (const match of output.matchAll(/(\S+@greenlight\.local)\s+(\S{4}-\S{4}-\S{4}-\S{4})/g))
    credentials[match[1]!] = match[2]!;
  return { url: /is running at (http:\/\/\S+)/.exec(output)![1]!, pid: child.pid!, credentials, stop };
}
