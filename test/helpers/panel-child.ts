/**
 * Running the panel as a real child process (`node scripts/run.mjs server/main.ts`), the way `npm start` does, with
 * its output captured. No test runner is imported here: vitest's tests use it through process.ts
 * (which kills what is left when a file ends) and Playwright's specs through e2e/panel-process.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { waitFor } from "./wait.ts";

export const ROOT = path.resolve(__dirname, "../..");
// scripts/run.mjs runs the panel's bundle in its own process, the one spawned here: a SIGKILL sent
// to it ends the panel (a wrapper that spawned the panel as a grandchild would leave it running).

export interface PanelProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The URL printed on the start-up banner. */
  waitForUrl(timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Panels spawned here that have not exited yet. */
export const runningPanels = new Set<ChildProcess>();

/** Only what the panel needs from the parent's environment, so a developer's settings do not leak in. */
function baseEnvironment(): Record<string, string | undefined> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

export interface SpawnOptions {
  /**
   * Runs V8 with `--liftoff-only`: WebAssembly (the embedded database) stays on the baseline compiler
   * and is never recompiled by the optimizer. A panel that lives for seconds spends more CPU on that
   * recompiling, on background threads, than it gains: startup.test and durability.test together took
   * 75-78 CPU-s with it against 99-112 without. The Playwright panel, which lives for minutes, gains
   * nothing from it (339 against 342 CPU-s) and runs with npm start's flags.
   */
  liftoffOnly?: boolean;
}

export function spawnPanel(env: Record<string, string>, options: SpawnOptions = {}): PanelProcess {
  // Unset, it is ./data in the checkout: the developer's own panel's secret, audit checkpoint key and
  // checkpoint file (two PostgreSQL-tier tests wrote their checkpoints there).
  if (!env.DATA_DIR) throw new Error("spawnPanel: give the panel a DATA_DIR of its own (a temporary directory)");
  const v8Flags = options.liftoffOnly ? ["--liftoff-only"] : [];
  const child = spawn(process.execPath, [...v8Flags, "scripts/run.mjs", "server/main.ts"], {
    cwd: ROOT,
    // BCRYPT_COST 4, bcrypt's cheapest: specs create and sign in many users (see README).
    env: { ...baseEnvironment(), NODE_ENV: "production", BCRYPT_COST: "4", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  runningPanels.add(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => (out += String(chunk)));
  child.stderr.on("data", (chunk) => (err += String(chunk)));
  // "exit" can come before the last output is read; wait for both streams to end too, but not for
  // long: slot processes that outlive a killed panel may hold its pipes open.
  const streamsEnded = Promise.all(
    [child.stdout, child.stderr].map((stream) => new Promise((done) => stream.once("end", done))),
  );
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => {
      runningPanels.delete(child);
      const result = code ?? signal ?? "unknown";
      const cap = setTimeout(() => resolve(result), 1000);
      void streamsEnded.then(() => {
        clearTimeout(cap);
        resolve(result);
      });
    }),
  );
  const handle: PanelProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      let exitedWith: number | string | null = null;
      void exited.then((code) => (exitedWith = code));
      // A panel that exits without printing it ends the wait at once (waitFor would go on to its
      // deadline: an error thrown by the condition only counts as "not yet").
      const found = await waitFor(
        () => out.match(pattern) ?? err.match(pattern) ?? (exitedWith !== null ? ("exited" as const) : null),
        `output matching ${pattern}`,
        timeoutMs,
      );
      if (found === "exited")
        throw new Error(`the panel exited (${exitedWith}) before printing ${pattern}. stderr: ${err.slice(-2000)}`);
      return found;
    },
    async waitForUrl(timeoutMs) {
      return (await handle.waitForOutput(/is running at (http:\/\/\S+)/, timeoutMs))[1]!;
    },
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return handle;
}
