/**
 * Process plumbing for the local target: starting a slot's child process and reading its port,
 * telling whether a pid is alive (zombies are not), proving a process is ours, stopping it gently
 * and then firmly, and the two short HTTP checks (health, identity).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";

export const LISTENING_LINE = /^GREENLIGHT_LISTENING (\d+)\s*$/;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all (ENOENT, EACCES). */
  error?: Error;
}

export interface SpawnSlotOptions {
  command: readonly string[];
  env: Record<string, string>;
  /** A process that has not printed its port after this long is killed and reported. */
  listenTimeoutMs: number;
  /**
   * A scheduling priority (nice value) to ask for: the local target runs its data plane and slot
   * processes ahead of the panel, so a panel busy rendering pages (or anything else on the machine)
   * does not show up in the latency a release is judged by. Raising it needs the privilege to
   * (root, CAP_SYS_NICE); without it the process keeps the panel's priority.
   */
  priority?: number;
  /**
   * Ask for `priority` only once the process listens: a process starting up (loading its code, warming
   * up) then competes with the panel, not with the processes already serving traffic, so twenty slots
   * starting at once do not slow the releases being judged.
   */
  prioritiseOnceListening?: boolean;
  onStderrLine?: (line: string) => void;
  onStdoutLine?: (line: string) => void;
}

/** One child process the panel started for a slot. */
export class SlotChild {
  readonly child: ChildProcess;
  readonly pid: number;
  port: number | null = null;
  exit: ExitInfo | null = null;
  /** True once we asked it to stop (its exit is then expected, not a failure). */
  stopRequested = false;
  readonly exited: Promise<ExitInfo>;
  /** Resolves with the port from the GREENLIGHT_LISTENING line; rejects when it exits or times out first. */
  readonly listening: Promise<number>;
  private readonly stderrTail: string[] = [];

  constructor(
    readonly releaseId: string,
    readonly token: string,
    private readonly options: SpawnSlotOptions,
  ) {
    const [file, ...args] = options.command;
    if (!file) throw new Error("The local target's command is empty.");
    // Its own process group: a Ctrl-C in the panel's terminal does not reach it mid-flight.
    this.child = spawn(file, args, {
      env: options.env as NodeJS.ProcessEnv,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.pid = this.child.pid ?? 0;
    if (this.pid && options.priority !== undefined && !options.prioritiseOnceListening)
      raisePriority(this.pid, options.priority);

    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.child.on("error", (error) => {
        // A failure to start ends the story here (no pid, no exit event); a failed kill() lands here too.
        if (this.pid === 0 && !this.exit) {
          this.exit = { code: null, signal: null, error };
          resolve(this.exit);
        }
      });
    });

    this.listening = new Promise<number>((resolve, reject) => {
      let buffered = "";
      let found = false;
      const timer = setTimeout(() => {
        if (found) return;
        this.pushStderr(`did not print GREENLIGHT_LISTENING within ${Math.round(options.listenTimeoutMs / 1000)} s`);
        reject(new Error("listen timeout"));
        this.kill("SIGKILL");
      }, options.listenTimeoutMs);
      timer.unref();
      this.child.stdout?.setEncoding("utf8");
      this.child.stdout?.on("data", (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf("\n")) !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const match = !found ? LISTENING_LINE.exec(line) : null;
          if (match) {
            found = true;
            clearTimeout(timer);
            this.port = Number(match[1]);
            if (options.priority !== undefined && options.prioritiseOnceListening)
              raisePriority(this.pid, options.priority);
            resolve(this.port);
          } else if (line.trim()) options.onStdoutLine?.(line);
        }
        if (buffered.length > 64 * 1024) buffered = buffered.slice(-1024);
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        if (!found) reject(new Error("exited before listening"));
      });
    });
    // Whoever waits on `listening` handles its rejection; nobody may be waiting any more.
    this.listening.catch(() => {});

    let partial = "";
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      partial += chunk;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) this.pushStderr(line);
      if (partial.length > 4096) partial = partial.slice(-4096);
    });
    this.child.stderr?.on("end", () => {
      if (partial.trim()) this.pushStderr(partial);
      partial = "";
    });
  }

  get alive(): boolean {
    return this.pid !== 0 && this.exit === null;
  }

  /** Waits a moment for how it ended when it is gone but not yet reaped (a zombie: its exit status is a moment away). */
  async reaped(): Promise<void> {
    if (!this.exit) await Promise.race([this.exited, delay(250)]);
  }

  get lastStderrLine(): string | null {
    return this.stderrTail.at(-1) ?? null;
  }

  /** How it ended, in words: for `observe`'s detail. */
  describeExit(): string {
    const exit = this.exit;
    if (!exit) return `process ${this.pid} is running`;
    let text: string;
    if (exit.error) text = `could not start ${this.options.command[0]}: ${exit.error.message}`;
    else if (exit.signal) text = `process ${this.pid} was killed by ${exit.signal}`;
    else text = `process ${this.pid} exited with code ${exit.code}`;
    if (this.port === null && !exit.error) text += " before listening";
    const last = this.lastStderrLine;
    return last ? `${text}: ${last}` : text;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) signalProcessGroup(this.pid, signal);
  }

  /** Stops reading its output and lets the panel exit without it (the process keeps running). */
  detach(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }

  private pushStderr(line: string): void {
    const trimmed = line.length > 500 ? `${line.slice(0, 500)}…` : line;
    this.stderrTail.push(trimmed);
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    this.options.onStderrLine?.(trimmed);
  }
}

/**
 * Asks for a scheduling priority for every thread of a process. Linux keeps a nice value per thread, and
 * setpriority on a pid changes its main thread alone: Node's other threads (V8's garbage-collection and
 * compiler helpers, libuv's pool), started before a slot process listens, stayed at the panel's
 * priority, and a main thread that waits on a helper is held up without waiting for a CPU itself (so
 * its schedstat shows nothing). Threads started later take the value of the thread that starts them. A
 * refusal (no privilege to raise it) leaves the process as it is.
 */
export function raisePriority(pid: number, priority: number): boolean {
  try {
    os.setPriority(pid, priority);
  } catch {
    return false;
  }
  for (const thread of threadsOf(pid))
    if (thread !== pid)
      try {
        os.setPriority(thread, priority);
      } catch {
        // That thread has ended.
      }
  return true;
}

/** The ids of a process's threads, from /proc; none where /proc says nothing. */
export function threadsOf(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/**
 * Names a running process so that a later process given the same pid is not taken for it: its pid and
 * when it started (clock ticks since boot, from /proc; the pid alone where there is no /proc).
 */
export function processIdentity(pid: number = process.pid): string {
  const started = statFields(pid)?.[STARTTIME];
  return started === undefined ? String(pid) : `${pid}/${started}`;
}

/** Whether the process a `processIdentity` names is still running (this one included). */
export function isRunningProcess(identity: string): boolean {
  const [pid, started] = identity.split("/");
  if (!isAlive(Number(pid))) return false;
  return started === undefined || statFields(Number(pid))?.[STARTTIME] === started;
}

/** In statFields: the process's state (R, S, Z…), parent, process group and start time (clock ticks since boot). */
const STATE = 0;
const PARENT = 1;
const PROCESS_GROUP = 2;
const STARTTIME = 19;

/** A process's parent, or null where /proc cannot say. */
export function parentOf(pid: number): number | null {
  const parent = statFields(pid)?.[PARENT];
  return parent === undefined ? null : Number(parent);
}

/** The process group a process runs in (slot processes lead their own), or null where /proc cannot say. */
export function processGroupOf(pid: number): number | null {
  const group = statFields(pid)?.[PROCESS_GROUP];
  return group === undefined ? null : Number(group);
}

/**
 * A /proc/<pid>/stat line's fields after the command's closing parenthesis (the command may hold spaces
 * and parentheses), from the third (state) on; null when the line has no command.
 */
function parseStatFields(stat: string): string[] | null {
  const commandEnd = stat.lastIndexOf(")");
  return commandEnd === -1 ? null : stat.slice(commandEnd + 2).split(" ");
}

/** When a process started, in clock ticks since boot, from its /proc/<pid>/stat line; null when the line says nothing. */
export function startTicksOf(stat: string): number | null {
  const field = parseStatFields(stat)?.[STARTTIME];
  const ticks = Number(field);
  return field !== undefined && field !== "" && Number.isFinite(ticks) ? ticks : null;
}

/** parseStatFields of a running process; null where there is no such process or no /proc. */
function statFields(pid: number): string[] | null {
  if (process.platform !== "linux") return null;
  try {
    return parseStatFields(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** Alive and not a zombie. A process we may not signal (EPERM) exists, so it counts as alive. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const fields = statFields(pid);
  return fields !== null && fields[STATE] !== "Z";
}

/**
 * Whether `pid` is a process started with `token` (Linux: its environment says so). Used before
 * killing a recorded pid that does not answer: after a reboot the pid may be someone else's.
 */
export function carriesToken(pid: number, token: string): boolean {
  if (process.platform !== "linux") return false;
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`GREENLIGHT_TOKEN=${token}`);
  } catch {
    return false;
  }
}

/**
 * The live processes started with `token` (Linux: found by their environment). A panel killed between
 * spawning a process and writing down its pid leaves only the token to know it by.
 */
export function pidsCarryingToken(token: string): number[] {
  if (process.platform !== "linux") return [];
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  return entries
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid && isAlive(pid) && carriesToken(pid, token));
}

/** Signals the process group led by `pid` (our children lead their own), else the process alone. */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // Not a group leader (or already gone): try the process itself.
  }
  try {
    process.kill(pid, signal);
  } catch {
    // Gone.
  }
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Asks `answers` until it says yes, again every 250 ms while `stillRunning` holds, for up to `patienceMs`:
 * on a busy machine a healthy process can miss a short check, and stopping it to start another would drop
 * its traffic. `onSilent` runs once, when the first check goes unanswered and it is asked again.
 */
export async function askWhileRunning(
  answers: () => Promise<boolean>,
  stillRunning: () => boolean,
  patienceMs: number,
  onSilent: () => void = () => {},
): Promise<boolean> {
  const deadline = Date.now() + patienceMs;
  for (let asked = 1; ; asked++) {
    if (await answers()) return true;
    if (Date.now() >= deadline || !stillRunning()) return false;
    if (asked === 1) onSilent();
    await delay(250);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the pid is gone (or after a last, bounded wait). */
export async function terminatePid(pid: number, graceMs: number, exited?: Promise<unknown>): Promise<void> {
  if (!isAlive(pid)) return;
  signalProcessGroup(pid, "SIGTERM");
  if (await waitUntilGone(pid, graceMs, exited)) return;
  signalProcessGroup(pid, "SIGKILL");
  await waitUntilGone(pid, 2000, exited);
}

async function waitUntilGone(pid: number, timeoutMs: number, exited?: Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  if (exited) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return !isAlive(pid);
  }
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await delay(25);
  }
  return !isAlive(pid);
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** A GET on a fresh connection (never a pooled one) with a hard deadline. */
export function httpGet(
  host: string,
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, path, method: "GET", agent: false, headers: { ...headers, connection: "close" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (body.length < 64 * 1024) body += chunk;
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" })),
      timeoutMs,
    );
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

export interface Identity {
  token: string;
  version: string;
  slot: string;
  pid: number;
}

/** The process on `port`'s identity when it proves it knows `token`, else null. */
export async function identify(host: string, port: number, token: string, timeoutMs = 1000): Promise<Identity | null> {
  try {
    const answer = await httpGet(host, port, "/__greenlight/identity", { "x-greenlight-token": token }, timeoutMs);
    if (answer.status !== 200) return null;
    const identity = JSON.parse(answer.body) as Identity;
    return identity.token === token ? identity : null;
  } catch {
    return null;
  }
}
