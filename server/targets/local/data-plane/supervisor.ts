/**
 * The panel's supervision of its data plane process, the way it supervises slot processes: the process
 * goes into the ledger (LocalProcess) before it is started and into LocalDataPlane once it listens; a
 * restarted panel adopts the recorded process when it proves its token; a process that died is started
 * again and every environment is set up on it anew (`onRestarted`); a clean stop ends it; a panel that
 * never comes back leaves it to its orphan watchdog.
 *
 * It also reads the per-second samples of every environment once a second and hands them on.
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import type { PrismaClient } from "../../../db/generated/client.ts";
import type { Slot } from "../../driver.ts";
import type { SecondSlotSample } from "../metrics-recorder.ts";
import { askWhileRunning, carriesToken, isAlive, processIdentity, SlotChild, terminatePid } from "../slot-process.ts";
import { uniqueViolation } from "../../../db/unique-violation.ts";
import { DataPlaneClient, DataPlaneError } from "./client.ts";
import { dataPlaneLiveness } from "./liveness.ts";
import { DATA_PLANE_MAIN, dataPlaneScript } from "./script.ts";

/**
 * How the data plane is started: this Node binary on main.ts bundled into plain JavaScript (script.ts);
 * through tsx, as the panel itself runs, when the bundle cannot be written (an install whose
 * node_modules this user may not write to).
 */
export async function dataPlaneCommand(
  script: () => Promise<string> = dataPlaneScript,
  onFallback: (error: Error) => void = () => {},
): Promise<string[]> {
  try {
    return [process.execPath, "--enable-source-maps", await script()];
  } catch (error) {
    onFallback(error as Error);
    return [process.execPath, "--import", pathToFileURL(require.resolve("tsx")).href, DATA_PLANE_MAIN];
  }
}
const ROW_ID = "local";
/** The longest a panel's start waits for a recorded data plane that runs but does not answer (it serves nothing meanwhile). */
const ADOPT_PATIENCE_MS = 10_000;

/** Whether the client's process still runs: alive and, where /proc tells, started with its token (not a reused pid). */
function isRunning(client: DataPlaneClient): boolean {
  return isAlive(client.pid) && (process.platform !== "linux" || carriesToken(client.pid, client.address.token));
}

interface RecordedDataPlane {
  pid: number;
  port: number;
  token: string;
  startedAt: Date;
}

/**
 * The nice value the data plane and the slot processes ask for: ahead of the panel (0), so what keeps
 * the panel busy never slows the traffic a release is judged by (granted where the panel may raise
 * priorities: root or CAP_SYS_NICE).
 */
export const TRAFFIC_PRIORITY = -5;

export interface EnvironmentSecond {
  environmentId: string;
  at: Date;
  slots: Record<Slot, SecondSlotSample>;
  weights: Record<Slot, number>;
}

export interface DataPlaneSupervisorOptions {
  prisma: PrismaClient;
  log: Logger;
  host: string;
  connectHost: string;
  orphanGraceSeconds: number;
  stopGraceMs: number;
  listenTimeoutMs: number;
  /**
   * A data plane that is running but has answered nothing for this long is stalled, and is replaced
   * (default 30 s). Until then a call that times out is only retried: on a saturated machine a healthy
   * data plane (or this panel, starved of a CPU) can miss the 2-second answer several times in a row,
   * and replacing it restarts every environment's proxy, generator and figures at once.
   */
  unresponsiveLimitMs?: number;
  /** The environment the process needs, beyond the data plane's own settings. */
  baseEnv: Record<string, string>;
  /** Sets every environment up again on a new data plane process. */
  onRestarted: (client: DataPlaneClient) => Promise<void>;
  onSecond: (sample: EnvironmentSecond) => void;
  /** Where the per-second feed starts on a first start (default: the second just completed). */
  resumeAfter?: () => Promise<Date | null>;
}

export class DataPlaneSupervisor {
  private current: Promise<DataPlaneClient> | null = null;
  private child: SlotChild | null = null;
  private poller: NodeJS.Timeout | null = null;
  private cursor = Math.floor(Date.now() / 1000) - 1;
  private polling = false;
  private checking: Promise<void> | null = null;
  /** When the data plane last answered this panel (a call, the per-second read or an identity check). */
  private answeredAt = Date.now();
  /** Set by stop() and detachForTest(); start() clears it. Until then everything starts on first use. */
  private stopped = false;

  constructor(private readonly options: DataPlaneSupervisorOptions) {}

  private get unresponsiveLimitMs(): number {
    return this.options.unresponsiveLimitMs ?? 30_000;
  }

  /** Adopts the recorded data plane or starts one, and resumes the per-second feed where the panel left it. */
  async start(): Promise<DataPlaneClient> {
    this.stopped = false;
    const resume = await this.options.resumeAfter?.().catch(() => null);
    if (resume) this.cursor = Math.max(this.cursor - 900, Math.floor(resume.getTime() / 1000));
    return this.client();
  }

  /** The running data plane (adopted or started on first use, started again if it died); its seconds are read once a second. */
  client(): Promise<DataPlaneClient> {
    if (this.stopped) return Promise.reject(new Error("The local data plane is stopped."));
    if (!this.poller) {
      this.poller = setInterval(() => void this.poll(), 1000);
      this.poller.unref();
    }
    if (!this.current) {
      const pending = this.adoptOrStart();
      this.current = pending;
      pending.catch(() => {
        if (this.current === pending) this.current = null;
      });
    }
    return this.current;
  }

  /**
   * Runs a call on the data plane. When the process cannot be reached and turns out to be gone, a new
   * one is started (and set up again) and the call is tried once more on it.
   */
  async use<T>(call: (client: DataPlaneClient) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await call(client);
    } catch (error) {
      if (!(error instanceof DataPlaneError) || error.status !== null) throw error;
      await this.checkAlive(error);
      const now = await this.client();
      if (now === client) throw error;
      return call(now);
    }
  }

  /** A clean stop: the process ends (its proxies close); the row stays, as for slots. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopPolling();
    const client = await this.current?.catch(() => null);
    this.current = null;
    client?.close();
    if (this.child) {
      this.child.stopRequested = true;
      await terminatePid(this.child.pid, this.options.stopGraceMs, this.child.exited);
      this.child = null;
    } else if (client && isAlive(client.pid) && (await this.isOurs(client))) {
      await terminatePid(client.pid, this.options.stopGraceMs);
    }
    if (client)
      await this.options.prisma.localProcess
        .deleteMany({ where: { pid: client.pid, token: client.address.token } })
        .catch(() => {});
  }

  /** What a killed panel leaves: the process keeps serving, unwatched, until a new panel adopts it. */
  async detachForTest(): Promise<void> {
    this.stopped = true;
    this.stopPolling();
    const client = await this.current?.catch(() => null);
    this.current = null;
    client?.close();
    this.child?.detach();
    this.child = null;
  }

  /** The ledger entry of the data plane, so the slot reaper leaves it alone. */
  async ledgerKey(): Promise<string | null> {
    const client = await this.current?.catch(() => null);
    return client ? `${client.pid}:${client.address.token}` : null;
  }

  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const client = await this.client();
      const answer = await client.seconds(this.cursor);
      for (const environment of answer.environments) {
        for (const second of environment.seconds) {
          try {
            this.options.onSecond({
              environmentId: environment.id,
              at: new Date(second.at),
              slots: second.slots,
              weights: second.weights,
            });
          } catch (error) {
            this.options.log.error(
              { err: error, environmentId: environment.id },
              "a per-second metrics listener failed",
            );
          }
        }
      }
      this.cursor = Math.max(this.cursor, answer.now - 1);
      this.answeredAt = Date.now();
    } catch (error) {
      await this.checkAlive(error as Error);
    } finally {
      this.polling = false;
    }
  }

  /** After a failed call: a data plane that is gone is started again (and set up by onRestarted). */
  private async checkAlive(error: Error): Promise<void> {
    this.checking ??= this.checkAliveOnce(error).finally(() => (this.checking = null));
    return this.checking;
  }

  private async checkAliveOnce(error: Error): Promise<void> {
    const client = await this.current?.catch(() => null);
    if (!client || this.stopped) return;
    const { log, stopGraceMs } = this.options;
    // Asked first: where /proc cannot tell whose process it is, an answer still proves it runs.
    const answered = isAlive(client.pid) && (await client.identity()) !== null;
    const running = answered || isRunning(client);
    if (answered) this.answeredAt = Date.now();
    const silentMs = Date.now() - this.answeredAt;
    switch (dataPlaneLiveness({ running, answered, silentMs, limitMs: this.unresponsiveLimitMs })) {
      case "answering":
        log.warn({ err: error }, "a call to the data plane failed; it is still running");
        return;
      case "catching_up":
        log.warn(
          { err: error, pid: client.pid, silentMs },
          "the data plane does not answer but is still running; it is left to catch up",
        );
        return;
      case "stalled":
        log.error(
          { pid: client.pid, silentMs, err: error },
          "the data plane has answered nothing for too long; replacing it",
        );
        if (this.child?.pid === client.pid) {
          this.child.stopRequested = true;
          await terminatePid(client.pid, stopGraceMs, this.child.exited);
        } else if (carriesToken(client.pid, client.address.token)) await terminatePid(client.pid, stopGraceMs);
        break;
      case "gone":
        log.error({ pid: client.pid, err: error }, "the data plane process is gone; starting it again");
    }
    client.close();
    if (this.current && (await this.current.catch(() => null)) === client) this.current = null;
    this.child = null;
    await this.client().catch((e: Error) => log.error({ err: e }, "could not start the data plane again"));
  }

  private async isOurs(client: DataPlaneClient): Promise<boolean> {
    return (await client.identity())?.pid === client.pid || carriesToken(client.pid, client.address.token);
  }

  private async adoptOrStart(): Promise<DataPlaneClient> {
    const { prisma } = this.options;
    const row = await prisma.localDataPlane.findUnique({ where: { id: ROW_ID } });
    if (row) {
      const adopted = await this.adopt(row);
      if (adopted) {
        this.options.log.info({ pid: row.pid, port: row.port }, "adopted the running data plane");
        return adopted;
      }
      if (isAlive(row.pid) && carriesToken(row.pid, row.token)) {
        this.options.log.warn(
          { pid: row.pid },
          "the recorded data plane does not answer its identity check; stopping it",
        );
        await terminatePid(row.pid, this.options.stopGraceMs);
      }
      await prisma.localProcess.deleteMany({ where: { token: row.token } });
    }
    const client = await this.spawn(row);
    if (row) await this.options.onRestarted(client);
    return client;
  }

  /**
   * The recorded process, when it is alive and proves it is the one recorded. One that is running but
   * does not answer yet (a saturated machine) is asked again for up to 10 s (or unresponsiveLimitMs, if
   * shorter): replacing a healthy data plane drops every environment's traffic.
   */
  private async adopt(row: RecordedDataPlane): Promise<DataPlaneClient | null> {
    const recorded = new DataPlaneClient({
      host: this.options.connectHost,
      port: row.port,
      token: row.token,
      pid: row.pid,
    });
    const answered = await askWhileRunning(
      async () => isAlive(row.pid) && (await recorded.identity())?.pid === row.pid,
      () => isRunning(recorded),
      Math.min(this.unresponsiveLimitMs, ADOPT_PATIENCE_MS),
    );
    if (answered) {
      this.answeredAt = Date.now();
      return recorded;
    }
    recorded.close();
    return null;
  }

  /**
   * Starts a data plane and records it in place of `replaced` (null: none was recorded). Two panels
   * on one database may both find none and start one each: the row is written only if it is still
   * what this panel read, so one of them wins; the other stops its own and adopts the winner's.
   */
  private async spawn(replaced: RecordedDataPlane | null): Promise<DataPlaneClient> {
    const { prisma, log } = this.options;
    const token = randomBytes(24).toString("hex");
    const command = await dataPlaneCommand(dataPlaneScript, (error) =>
      log.warn({ err: error }, "the data plane's bundle could not be made; it runs through tsx"),
    );
    // Into the ledger before it exists: a panel killed between the spawn and the pid's write leaves a
    // row whose token still finds the process (LocalTarget's reapUnrecorded).
    await prisma.localProcess.create({ data: { token, environmentId: null, panel: processIdentity() } });
    const child = new SlotChild("data-plane", token, {
      command,
      env: {
        ...this.options.baseEnv,
        PORT: "0",
        HOST: this.options.host,
        GREENLIGHT_TOKEN: token,
        GREENLIGHT_PARENT_PID: String(process.pid),
        GREENLIGHT_ORPHAN_GRACE_SECONDS: String(this.options.orphanGraceSeconds),
      },
      listenTimeoutMs: this.options.listenTimeoutMs,
      priority: TRAFFIC_PRIORITY,
      onStderrLine: (line) => log.warn({ stream: "stderr", component: "data-plane" }, line),
      onStdoutLine: (line) => log.debug({ stream: "stdout", component: "data-plane" }, line),
    });
    if (child.pid) await prisma.localProcess.updateMany({ where: { token }, data: { pid: child.pid } });
    void child.exited.then((exit) => {
      if (!child.stopRequested)
        log.warn(
          { pid: child.pid, code: exit.code, signal: exit.signal, detail: child.describeExit() },
          "the data plane process exited",
        );
    });
    let port: number;
    try {
      port = await child.listening;
    } catch {
      const other = await this.adoptStartedElsewhere(replaced);
      if (other) return other;
      throw new Error(`The local data plane did not start: ${child.describeExit()}`);
    }
    const data = { pid: child.pid, port, token, startedAt: new Date() };
    if (!(await this.record(replaced, data))) {
      log.info({ pid: child.pid }, "another panel started the data plane first; adopting it and stopping this one");
      child.stopRequested = true;
      await terminatePid(child.pid, this.options.stopGraceMs, child.exited);
      await prisma.localProcess.deleteMany({ where: { token } });
      const other = await this.adoptStartedElsewhere(replaced);
      if (other) return other;
      throw new Error(
        "Another panel recorded a local data plane that does not answer; it is started again on next use.",
      );
    }
    this.child = child;
    this.answeredAt = Date.now();
    log.info({ pid: child.pid, port }, "data plane listening");
    return new DataPlaneClient({ host: this.options.connectHost, port, token, pid: child.pid });
  }

  /** Writes the row only if it is still `replaced`: false when another panel recorded its own first. */
  private async record(replaced: RecordedDataPlane | null, data: RecordedDataPlane): Promise<boolean> {
    const { prisma } = this.options;
    if (replaced) {
      const { count } = await prisma.localDataPlane.updateMany({
        where: { id: ROW_ID, pid: replaced.pid, token: replaced.token },
        data,
      });
      return count === 1;
    }
    try {
      await prisma.localDataPlane.create({ data: { id: ROW_ID, ...data } });
      return true;
    } catch (error) {
      if (uniqueViolation(error)) return false;
      throw error;
    }
  }

  /** A data plane another panel recorded after this one read `replaced`, adopted, if it answers. */
  private async adoptStartedElsewhere(replaced: RecordedDataPlane | null): Promise<DataPlaneClient | null> {
    const row = await this.options.prisma.localDataPlane.findUnique({ where: { id: ROW_ID } });
    if (!row || (replaced && row.pid === replaced.pid && row.token === replaced.token)) return null;
    return this.adopt(row);
  }
}
