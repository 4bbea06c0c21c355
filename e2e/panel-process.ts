/**
 * A panel started as a newcomer starts it (test/helpers/panel-child.ts: `node scripts/run.mjs server/main.ts`, production
 * build), on an OS-chosen port, for global setup's shared panel and for the specs that need one of their
 * own (their own database, their own identity provider). It reads the demo sign-ins from the console.
 */
import { spawnPanel } from "../test/helpers/panel-child";

export interface StartedPanel {
  url: string;
  pid: number;
  /** The demo sign-ins the panel printed: e-mail → one-time password. */
  credentials: Record<string, string>;
  /** SIGTERM, then resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts the panel with `env`; resolves once it has printed its URL and its demo sign-ins. */
export async function startPanelProcess(env: Record<string, string>): Promise<StartedPanel> {
  const panel = spawnPanel({ PORT: "0", LOG_LEVEL: "warn", ...env });
  const stop = async () => void (await panel.kill());
  try {
    await panel.waitForOutput(/Demo sign-ins[\s\S]*admin@greenlight\.local\s+\S{4}-/, 120_000);
  } catch (error) {
    await stop();
    throw new Error(`The panel did not start: ${(error as Error).message}\n${panel.stdout()}`);
  }
  const credentials: Record<string, string> = {};
  for (const match of panel.stdout().matchAll(/(\S+@greenlight\.local)\s+(\S{4}-\S{4}-\S{4}-\S{4})/g))
    credentials[match[1]!] = match[2]!;
  return { url: await panel.waitForUrl(), pid: panel.child.pid!, credentials, stop };
}
