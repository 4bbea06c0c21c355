/**
 * The embedded default target: blue and green are real child processes (by default the demo service
 * next to this file), fronted per environment by a weighted reverse proxy that records every request,
 * with an optional traffic generator so the charts move. The proxies, the recorders and the generators
 * run in the data plane, a process of their own (data-plane/), so the panel's own work never shows up
 * in the latency a release is judged by, and traffic flows on while the panel restarts.
 *
 * What must outlive a panel process lives in the database: LocalSlotProcess (which pid/port/token
 * runs which release in a slot), LocalProxyState (the proxy's port and weights) and LocalDataPlane.
 * `start()` brings that back: it adopts processes that are still running and prove who they are, and
 * restarts the rest. Children run in their own process group and watch for their parent's death (see
 * demo-service.mjs and data-plane/main.ts, which runs bundled: data-plane/script.ts), so a killed
 * panel's children wait to be adopted but never run forever.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Logger } from "pino";
import type { PrismaClient } from "../../db/generated/client.ts";
import { uniqueViolation } from "../../db/unique-violation.ts";
import {
  SLOTS,
  type DriverCallOptions,
  type EnvironmentRef,
  type MetricsWindow,
  type Observed,
  type ReleaseRef,
  type Slot,
  type SlotMetrics,
  type SlotState,
  type TargetDriver,
  type TrafficGuardSpec,
  type Weights,
  type WindowMetrics,
} from "../driver.ts";
import type { DataPlaneClient } from "./data-plane/client.ts";
import type { EnvironmentSpec } from "./data-plane/protocol.ts";
import { DataPlaneSupervisor, TRAFFIC_PRIORITY, type EnvironmentSecond } from "./data-plane/supervisor.ts";
import type { SlotWindow } from "./metrics-recorder.ts";
import {
  carriesToken,
  httpGet,
  identify,
  isAlive,
  SlotChild,
  askWhileRunning,
  isRunningProcess,
  pidsCarryingToken,
  processIdentity,
  terminatePid,
} from "./slot-process.ts";
import { validateWeights } from "./weighted-proxy.ts";

export const DEMO_SERVICE_PATH = path.join(__dirname, "demo-service.mjs");

export interface LocalTargetOptions {
  prisma: PrismaClient;
  log: Logger;
  /** The command a slot runs (default: this Node binary on demo-service.mjs). */
  command?: string[];
  /** Interface the proxies and the slot processes listen on (default 127.0.0.1). */
  host?: string;
  /** How long an orphaned child waits to be adopted (default 300 s). */
  orphanGraceSeconds?: number;
  /** How long ensureRelease waits for a new process to print its port before returning (default 5 s; it keeps waiting in the background). */
  startWaitMs?: number;
  /** A process that has not printed its port after this long is killed and reported failed (default 60 s). */
  listenTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when stopping a process (default 3 s). */
  stopGraceMs?: number;
  /** Short checks (health, identity) give up after this long (default 1 s). */
  checkTimeoutMs?: number;
  /** A data plane that runs but answers nothing for this long is replaced (default 30 s; see DataPlaneSupervisor). */
  dataPlaneUnresponsiveLimitMs?: number;
  /** The last second the panel stored, so the per-second feed resumes there after a restart. */
  resumeAfter?: () => Promise<Date | null>;
}

export type { EnvironmentSecond };

export type SecondListener = (sample: EnvironmentSecond) => void;

/** What a LocalSlotProcess row says runs in a slot. */
interface SlotRecord {
  pid: number;
  port: number;
  releaseId: string;
  token: string;
}

interface SlotRuntime {
  /** Serialises changes to the slot (ensureRelease, scale, a start finishing in the background). */
  lock: Promise<unknown>;
  /** A started process that has not printed its port yet. */
  pending: SlotChild | null;
  /** The last start attempt failed (it exited or never listened); cleared by the next attempt. */
  failure: { releaseId: string; detail: string } | null;
  /** Mirror of the row, for heartbeats and stop(). */
  current: SlotRecord | null;
  /**
   * What ran in the slot when a pending process's commit first began, until a commit completes: a
   * commit that failed half-way (the row rewritten, the route not) is tried again, and this is still
   * the process to stop then. Undefined while no commit is under way.
   */
  replacing?: SlotRecord | null;
}

interface EnvRuntime {
  id: string;
  /** The environment's proxy port on the data plane. */
  port: number;
  slots: Record<Slot, SlotRuntime>;
}

/** How long a restarted panel keeps asking a recorded slot process that runs but does not answer, before it starts the slot again. */
const RESTORE_PATIENCE_MS = 10_000;
/**
 * The same, when a deployment pass asks for the release a recorded process already runs (a panel taking
 * over another's deployment): shorter, as the pass has 30 s in all (DEFAULT_PASS_DEADLINE_MS).
 */
const ENSURE_PATIENCE_MS = 5_000;

const SAFE_ENV = ["PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "TZ", "SYSTEMROOT"];

export class LocalTarget implements TargetDriver {
  readonly kind = "local" as const;
  private readonly prisma: PrismaClient;
  private readonly log: Logger;
  private readonly command: readonly string[];
  private readonly host: string;
  private readonly connectHost: string;
  private readonly orphanGraceSeconds: number;
  private readonly startWaitMs: number;
  private readonly listenTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly checkTimeoutMs: number;
  private readonly runtimes = new Map<string, Promise<EnvRuntime>>();
  /** The runtimes that are set up (a new data plane process sets these up again). */
  private readonly ready = new Map<string, EnvRuntime>();
  /** Every child this panel process started, by pid (exit details outlive the process). */
  private readonly children = new Map<number, SlotChild>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly secondListeners = new Set<SecondListener>();
  private readonly dataPlane: DataPlaneSupervisor;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Set by stop() and detachForTest(): nothing may start again behind a closing panel's back until start(). */
  private stopped = false;

  constructor(options: LocalTargetOptions) {
    this.prisma = options.prisma;
    this.log = options.log.child({ component: "local-target" });
    this.command = options.command ?? [process.execPath, DEMO_SERVICE_PATH];
    if (this.command.length === 0) throw new Error("The local target's command is empty.");
    this.host = options.host ?? "127.0.0.1";
    this.connectHost = this.host === "0.0.0.0" ? "127.0.0.1" : this.host === "::" ? "::1" : this.host;
    this.orphanGraceSeconds = options.orphanGraceSeconds ?? 300;
    this.startWaitMs = options.startWaitMs ?? 5000;
    this.listenTimeoutMs = options.listenTimeoutMs ?? 60_000;
    this.stopGraceMs = options.stopGraceMs ?? 3000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 1000;
    this.dataPlane = new DataPlaneSupervisor({
      prisma: this.prisma,
      log: this.log,
      host: this.host,
      connectHost: this.connectHost,
      orphanGraceSeconds: this.orphanGraceSeconds,
      stopGraceMs: this.stopGraceMs,
      listenTimeoutMs: this.listenTimeoutMs,
      ...(options.dataPlaneUnresponsiveLimitMs !== undefined
        ? { unresponsiveLimitMs: options.dataPlaneUnresponsiveLimitMs }
        : {}),
      baseEnv: safeEnvironment(),
      onRestarted: (client) => this.setUpAgain(client),
      onSecond: (sample) => {
        for (const listener of this.secondListeners) listener(sample);
      },
      ...(options.resumeAfter ? { resumeAfter: options.resumeAfter } : {}),
    });
  }

  // ─── Life cycle ────────────────────────────────────────────────────────────────────────────────

  /** Brings back every recorded environment: proxies on their ports with their weights, slot processes adopted or restarted. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.dataPlane.start();
    const [states, rows] = await Promise.all([
      this.prisma.localProxyState.findMany({ select: { environmentId: true } }),
      this.prisma.localSlotProcess.findMany({ select: { environmentId: true } }),
    ]);
    const ids = new Set([...states.map((s) => s.environmentId), ...rows.map((r) => r.environmentId)]);
    await Promise.all([...ids].map((id) => this.ensureEnvironment(id)));
    await this.reapUnrecorded();
  }

  /**
   * Stops processes a previous panel started but never recorded in a slot, or was retiring when it
   * died: anything in the ledger that is neither a slot's recorded process nor
   * started by a panel that is still running (this one included).
   */
  private async reapUnrecorded(): Promise<void> {
    const [ledger, slots] = await Promise.all([
      this.prisma.localProcess.findMany(),
      this.prisma.localSlotProcess.findMany(),
    ]);
    const keep = new Set(slots.map((r) => `${r.pid}:${r.token}`));
    const dataPlane = await this.dataPlane.ledgerKey();
    if (dataPlane) keep.add(dataPlane);
    for (const entry of ledger) {
      if (keep.has(`${entry.pid}:${entry.token}`)) continue;
      // A panel that is still running (another on this machine, or this one: its own children) may be starting it still.
      if (entry.panel && isRunningProcess(entry.panel)) continue;
      // No pid: the panel died between the spawn and writing the pid down; the token finds the process.
      const pids =
        entry.pid === null
          ? pidsCarryingToken(entry.token)
          : isAlive(entry.pid) && carriesToken(entry.pid, entry.token)
            ? [entry.pid]
            : [];
      for (const pid of pids) {
        this.log.warn(
          { environmentId: entry.environmentId, pid },
          "stopping a slot process a previous panel started but never recorded",
        );
        await terminatePid(pid, this.stopGraceMs);
      }
      await this.prisma.localProcess.deleteMany({ where: { token: entry.token } });
    }
  }

  /** Stops the data plane (proxies, generators) and every slot process, gracefully; the rows stay, as desired state for the next start(). */
  async stop(): Promise<void> {
    this.stopped = true;
    const runtimes = await this.settledRuntimes();
    this.runtimes.clear();
    this.ready.clear();
    this.stopHeartbeat();
    const records: SlotRecord[] = [];
    for (const rt of runtimes) {
      for (const slot of SLOTS) {
        const { current, replacing } = rt.slots[slot];
        if (current) records.push(current);
        if (replacing && replacing.pid !== current?.pid) records.push(replacing);
      }
    }
    await this.dataPlane.stop();
    // Recorded processes (ours or adopted, once proven ours), then anything else we started (pending starts).
    await Promise.all(records.map((record) => this.stopRecorded(record)));
    await Promise.all([...this.children.values()].map((child) => this.stopChild(child)));
    await Promise.all([...this.stopping]);
    this.children.clear();
  }

  /**
   * For tests: what a SIGKILLed panel leaves behind. Timers stop; the data plane and the slot
   * processes keep running and serving (and the rows stay), so a new LocalTarget's start() can adopt them.
   */
  async detachForTest(): Promise<void> {
    this.stopped = true;
    await this.settledRuntimes();
    this.runtimes.clear();
    this.ready.clear();
    this.stopHeartbeat();
    await this.dataPlane.detachForTest();
    for (const child of this.children.values()) child.detach();
    this.children.clear();
  }

  /** The environment's proxy (created on an OS-chosen port with blue 100 / green 0 the first time). */
  async ensureEnvironment(environmentId: string): Promise<{ proxyUrl: string }> {
    const rt = await this.runtime(environmentId);
    return { proxyUrl: this.urlFor(rt.port) };
  }

  async proxyUrl(environmentId: string): Promise<string> {
    return (await this.ensureEnvironment(environmentId)).proxyUrl;
  }

  async setTrafficGenerator(environmentId: string, enabled: boolean, rate: number): Promise<void> {
    if (!Number.isFinite(rate) || rate < 0)
      throw new RangeError(`Traffic rate must be a non-negative number (got ${rate}).`);
    const rt = await this.runtime(environmentId);
    await this.dataPlane.use((plane) => plane.setGenerator(rt.id, { enabled, rate: Math.min(rate, 5000) }));
  }

  /** Per-second samples of every environment (completed seconds, shortly after each boundary). */
  onSecond(listener: SecondListener): () => void {
    this.secondListeners.add(listener);
    return () => this.secondListeners.delete(listener);
  }

  // ─── TargetDriver ──────────────────────────────────────────────────────────────────────────────
  // Calls take DriverCallOptions but ignore its signal for now: they wait only on local processes
  // and short, self-limited checks (checkTimeoutMs, startWaitMs).

  async ensureRelease(
    env: EnvironmentRef,
    slot: Slot,
    release: ReleaseRef,
    _options?: DriverCallOptions,
  ): Promise<void> {
    const rt = await this.runtime(env.id);
    await this.withSlotLock(rt, slot, async () => {
      const state = rt.slots[slot];
      if (state.pending) {
        if (state.pending.releaseId === release.id && state.pending.exit === null) {
          // It listens, but recording or routing it failed (a busy database or data plane): again now.
          if (state.pending.port !== null) await this.commit(rt, slot, state.pending);
          return;
        }
        this.cancelPending(state);
      }
      const row = await this.readSlot(env.id, slot);
      // A process of this release that misses one check on a busy machine is asked again: starting
      // another would only add to the load, and cost the new one its warm-up.
      if (row && row.releaseId === release.id && (await this.provesOurs(row, ENSURE_PATIENCE_MS))) {
        await this.setUpstream(rt, slot, row.port);
        state.current = row;
        state.failure = null;
        this.stopReplaced(state, row);
        return;
      }
      await this.startRelease(rt, slot, release);
    });
  }

  async observe(env: EnvironmentRef, _options?: DriverCallOptions): Promise<Observed> {
    const rt = await this.runtime(env.id);
    const rows = await this.prisma.localSlotProcess.findMany({ where: { environmentId: env.id } });
    const row = (slot: Slot) => rows.find((r) => r.slot === slot) ?? null;
    const [blue, green, plane] = await Promise.all([
      this.observeSlot(rt, "blue", row("blue")),
      this.observeSlot(rt, "green", row("green")),
      this.dataPlane.use((client) => client.environment(rt.id)),
    ]);
    // The weights are what the data plane routes by now, not what was last asked for.
    const trip = plane.guard.tripped;
    // What the guard set is the desired state from now on (the weights a restarted data plane is given).
    if (trip) await this.recordDesiredWeights(env.id, rt.port, plane.weights);
    return {
      slots: { blue, green },
      weights: plane.weights,
      cutOff: trip
        ? {
            key: trip.key,
            slot: trip.slot,
            at: new Date(trip.at),
            requests: trip.requests,
            errors: trip.errors,
            ceilingPercent: trip.ceilingPercent,
            confidence: trip.confidence,
          }
        : null,
    };
  }

  async setWeights(
    env: EnvironmentRef,
    weights: Weights,
    options?: DriverCallOptions & { guard?: TrafficGuardSpec },
  ): Promise<void> {
    validateWeights(weights);
    const rt = await this.runtime(env.id);
    // The desired state first: a panel dying in between sets the weights again when it comes back.
    await this.recordDesiredWeights(env.id, rt.port, weights);
    const state = await this.dataPlane.use((plane) => plane.setWeights(env.id, weights, options?.guard ?? null));
    for (const slot of SLOTS) {
      if (weights[slot] > 0 && state.upstreams[slot] === null)
        this.log.warn(
          { environmentId: env.id, slot, weight: weights[slot] },
          "traffic sent to a slot where no process runs",
        );
    }
  }

  async scale(env: EnvironmentRef, slot: Slot, count: number, _options?: DriverCallOptions): Promise<void> {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`Instance count must be a non-negative integer (got ${count}).`);
    const rt = await this.runtime(env.id);
    await this.withSlotLock(rt, slot, async () => {
      const state = rt.slots[slot];
      if (count === 0) {
        this.cancelPending(state);
        state.failure = null;
        const row = await this.readSlot(env.id, slot);
        await this.setUpstream(rt, slot, null);
        state.current = null;
        this.stopReplaced(state, row);
        if (!row) return;
        // The row goes first: a panel dying in between must not bring the process back.
        await this.prisma.localSlotProcess.deleteMany({ where: { environmentId: env.id, slot } });
        await this.stopRecorded(row);
        this.log.info({ environmentId: env.id, slot, pid: row.pid }, "slot scaled to zero");
        return;
      }
      // One instance per slot locally: bring it back if it died, else nothing to do.
      if (state.pending) return;
      const row = await this.readSlot(env.id, slot);
      if (!row) {
        this.log.warn(
          { environmentId: env.id, slot, count },
          "scale up of an empty slot ignored: deploy a release first",
        );
        return;
      }
      if (isAlive(row.pid)) return;
      const release = await this.loadRelease(row.releaseId);
      if (!release) {
        state.failure = { releaseId: row.releaseId, detail: `release ${row.releaseId} no longer exists` };
        return;
      }
      await this.startRelease(rt, slot, release);
    });
  }

  async metrics(env: EnvironmentRef, window: MetricsWindow, _options?: DriverCallOptions): Promise<WindowMetrics> {
    const rt = await this.runtime(env.id);
    const answer = await this.dataPlane.use((plane) => plane.window(rt.id, window.from.getTime(), window.to.getTime()));
    return {
      from: window.from,
      to: window.to,
      slots: { blue: slotMetrics(answer.blue), green: slotMetrics(answer.green) },
      complete: true,
      source: "the local proxy, every request",
    };
  }

  /** The weights a restarted data plane is given for the environment (LocalProxyState). */
  private async recordDesiredWeights(environmentId: string, port: number, weights: Weights): Promise<void> {
    const data = { port, blueWeight: weights.blue, greenWeight: weights.green };
    await this.prisma.localProxyState.upsert({
      where: { environmentId },
      create: { environmentId, ...data },
      update: data,
    });
  }

  async slotUrl(env: EnvironmentRef, slot: Slot, _options?: DriverCallOptions): Promise<string> {
    const row = await this.readSlot(env.id, slot);
    if (!row) throw new Error(`Nothing runs in the ${slot} slot of environment ${env.id}.`);
    return this.urlFor(row.port);
  }

  // ─── Environments ──────────────────────────────────────────────────────────────────────────────

  private runtime(environmentId: string): Promise<EnvRuntime> {
    let rt = this.runtimes.get(environmentId);
    if (!rt) {
      if (this.stopped) return Promise.reject(new Error("The local target is stopped; start() it again first."));
      rt = this.createRuntime(environmentId);
      this.runtimes.set(environmentId, rt);
      rt.catch(() => {
        if (this.runtimes.get(environmentId) === rt) this.runtimes.delete(environmentId);
      });
    }
    return rt;
  }

  private async settledRuntimes(): Promise<EnvRuntime[]> {
    const settled = await Promise.allSettled([...this.runtimes.values()]);
    return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  }

  private async createRuntime(environmentId: string): Promise<EnvRuntime> {
    const { spec, recordedPort } = await this.specFor(environmentId);
    const state = await this.dataPlane.use((plane) => plane.ensureEnvironment(environmentId, spec));
    if (recordedPort !== state.port) {
      if (recordedPort !== null)
        this.log.warn(
          { environmentId, was: recordedPort, now: state.port },
          "the proxy's recorded port is taken; it listens on a new one",
        );
      const data = { port: state.port, blueWeight: spec.weights.blue, greenWeight: spec.weights.green };
      await this.prisma.localProxyState.upsert({
        where: { environmentId },
        create: { environmentId, ...data },
        update: { port: state.port },
      });
    }
    const slotRuntime = (): SlotRuntime => ({ lock: Promise.resolve(), pending: null, failure: null, current: null });
    const rt: EnvRuntime = {
      id: environmentId,
      port: state.port,
      slots: { blue: slotRuntime(), green: slotRuntime() },
    };
    this.log.info({ environmentId, port: state.port, weights: spec.weights }, "environment proxy listening");

    const rows = await this.prisma.localSlotProcess.findMany({ where: { environmentId } });
    await Promise.all(rows.map((row) => this.withSlotLock(rt, row.slot, () => this.restoreSlot(rt, row.slot, row))));
    this.startHeartbeat();
    this.ready.set(environmentId, rt);
    return rt;
  }

  /**
   * What the data plane should serve for an environment, from the database: the recorded port and
   * weights, the recorded slot processes as upstreams (adoption corrects them if one is gone), the
   * traffic generator's setting.
   */
  private async specFor(environmentId: string): Promise<{ spec: EnvironmentSpec; recordedPort: number | null }> {
    const [state, rows, environment] = await Promise.all([
      this.prisma.localProxyState.findUnique({ where: { environmentId } }),
      this.prisma.localSlotProcess.findMany({ where: { environmentId }, select: { slot: true, port: true } }),
      this.prisma.environment.findUnique({
        where: { id: environmentId },
        select: { trafficGenerator: true, trafficRate: true },
      }),
    ]);
    const upstream = (slot: Slot) => rows.find((r) => r.slot === slot)?.port ?? null;
    return {
      recordedPort: state?.port ?? null,
      spec: {
        port: state?.port ?? null,
        weights: state ? { blue: state.blueWeight, green: state.greenWeight } : { blue: 100, green: 0 },
        upstreams: { blue: upstream("blue"), green: upstream("green") },
        generator: { enabled: environment?.trafficGenerator ?? false, rate: environment?.trafficRate ?? 20 },
      },
    };
  }

  /** A new data plane process (the old one died): every environment is set up on it again. */
  private async setUpAgain(client: DataPlaneClient): Promise<void> {
    for (const rt of this.ready.values()) {
      const { spec } = await this.specFor(rt.id);
      const state = await client.ensureEnvironment(rt.id, spec);
      if (state.port !== rt.port) {
        this.log.warn(
          { environmentId: rt.id, was: rt.port, now: state.port },
          "the proxy's port was taken while the data plane restarted; it listens on a new one",
        );
        rt.port = state.port;
        await this.prisma.localProxyState.updateMany({ where: { environmentId: rt.id }, data: { port: state.port } });
      }
    }
  }

  private async setUpstream(rt: EnvRuntime, slot: Slot, port: number | null): Promise<void> {
    await this.dataPlane.use((plane) => plane.setUpstream(rt.id, slot, port));
  }

  /** A recorded slot on start-up: adopt the process if it proves it is ours, else start its release again. */
  private async restoreSlot(rt: EnvRuntime, slot: Slot, row: SlotRecord): Promise<void> {
    const state = rt.slots[slot];
    if (await this.provesOurs(row, RESTORE_PATIENCE_MS)) {
      await this.setUpstream(rt, slot, row.port);
      state.current = row;
      this.log.info(
        { environmentId: rt.id, slot, pid: row.pid, port: row.port, releaseId: row.releaseId },
        "adopted a running slot process",
      );
      return;
    }
    if (isAlive(row.pid)) {
      if (carriesToken(row.pid, row.token)) {
        this.log.warn(
          { environmentId: rt.id, slot, pid: row.pid },
          "a recorded slot process does not answer its identity check; stopping it",
        );
        await terminatePid(row.pid, this.stopGraceMs);
      } else {
        this.log.warn(
          { environmentId: rt.id, slot, pid: row.pid },
          "the recorded pid belongs to another process now; leaving it alone",
        );
      }
    }
    const release = await this.loadRelease(row.releaseId);
    if (!release) {
      state.failure = {
        releaseId: row.releaseId,
        detail: `release ${row.releaseId} no longer exists; nothing to restart`,
      };
      this.log.error(
        { environmentId: rt.id, slot, releaseId: row.releaseId },
        "cannot restart a slot: its release is gone",
      );
      return;
    }
    this.log.info(
      { environmentId: rt.id, slot, releaseId: row.releaseId, deadPid: row.pid },
      "restarting a slot whose process is gone",
    );
    try {
      await this.startRelease(rt, slot, release);
    } catch (error) {
      // The runtime being set up is thrown away with its pending process: stop that process with it.
      this.cancelPending(state);
      throw error;
    }
  }

  // ─── Slot processes ────────────────────────────────────────────────────────────────────────────

  /** Starts `release` in `slot` (caller holds the slot's lock); the previous process stops once the new one is recorded. */
  private async startRelease(rt: EnvRuntime, slot: Slot, release: ReleaseRef): Promise<void> {
    const state = rt.slots[slot];
    const token = randomBytes(24).toString("hex");
    const log = this.log.child({ environmentId: rt.id, slot, releaseId: release.id, version: release.version });
    // Into the ledger before it exists: a panel killed between the spawn and the pid's write leaves a
    // row whose token still finds the process (see reapUnrecorded).
    await this.prisma.localProcess.create({ data: { token, environmentId: rt.id, panel: processIdentity() } });
    const child = new SlotChild(release.id, token, {
      command: this.command,
      env: this.childEnvironment(rt.id, slot, release, token),
      listenTimeoutMs: this.listenTimeoutMs,
      priority: TRAFFIC_PRIORITY,
      prioritiseOnceListening: true,
      onStderrLine: (line) => log.info({ stream: "stderr", pid: child.pid }, line),
      onStdoutLine: (line) => log.debug({ stream: "stdout", pid: child.pid }, line),
    });
    if (child.pid) this.children.set(child.pid, child);
    if (child.pid) await this.prisma.localProcess.updateMany({ where: { token }, data: { pid: child.pid } });
    void child.exited.then(() => this.prisma.localProcess.deleteMany({ where: { token } }).catch(() => {}));
    void child.exited.then((exit) => {
      const fields = { pid: child.pid, code: exit.code, signal: exit.signal };
      if (child.stopRequested) log.info(fields, "slot process stopped");
      else log.warn({ ...fields, detail: child.describeExit() }, "slot process exited");
    });
    state.pending = child;
    state.failure = null;
    log.info({ pid: child.pid }, "slot process started");

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      child.listening.then(
        () => "listening" as const,
        () => "failed" as const,
      ),
      new Promise<"waiting">((resolve) => (timer = setTimeout(() => resolve("waiting"), this.startWaitMs))),
    ]);
    clearTimeout(timer);
    if (outcome === "listening") return this.commit(rt, slot, child);
    if (outcome === "failed") return this.recordStartFailure(state, child);
    // Still starting (a slow release): ensureRelease returns now, observe says in_progress, and the
    // process is recorded when it listens.
    log.info({ pid: child.pid }, "slot process still starting; it will be recorded once it listens");
    child.listening.then(
      () =>
        this.withSlotLock(rt, slot, async () =>
          state.pending === child && !this.stopped ? this.commit(rt, slot, child) : undefined,
        ).catch((error) =>
          log.warn({ err: error }, "could not record and route to a started slot process yet; observe tries again"),
        ),
      () => {
        if (state.pending === child) this.recordStartFailure(state, child);
      },
    );
  }

  /**
   * The new process listens: record it, route to it, then stop the previous one. When a step fails (a
   * busy database or data plane), the process stays pending and this runs again on the next observe or
   * ensureRelease; what ran in the slot before is read once, before the row changes, so that it is still
   * the one stopped. The row is only written where it still names that process (or this one): another
   * panel may have moved the slot on meanwhile. A process that exited is abandoned, not recorded.
   */
  private async commit(rt: EnvRuntime, slot: Slot, child: SlotChild): Promise<void> {
    const state = rt.slots[slot];
    if (child.exit || !isAlive(child.pid)) return this.abandonExited(rt, slot, child);
    if (state.replacing === undefined) state.replacing = await this.readSlot(rt.id, slot);
    const previous = state.replacing;
    const record: SlotRecord = { pid: child.pid, port: child.port!, releaseId: child.releaseId, token: child.token };
    if (!(await this.recordInPlaceOf(rt.id, slot, previous, record))) {
      // Another panel recorded a process of its own in the slot since this one read it (the deployment
      // moved on without this panel): that panel routes and retires; this one stops only its own child.
      this.log.warn(
        { environmentId: rt.id, slot, pid: child.pid },
        "another panel recorded a different process in the slot meanwhile; stopping the one started here",
      );
      state.pending = null;
      state.replacing = undefined;
      this.track(this.stopChild(child));
      return;
    }
    await this.setUpstream(rt, slot, record.port);
    state.pending = null;
    state.failure = null;
    state.current = record;
    state.replacing = undefined;
    this.log.info(
      { environmentId: rt.id, slot, pid: record.pid, port: record.port, releaseId: record.releaseId },
      "slot process listening and recorded",
    );
    if (previous && previous.pid !== record.pid) this.track(this.stopRecorded(previous));
  }

  /**
   * Writes `record` as the slot's process if the row is still `previous` (or already `record`, written by
   * an earlier attempt); false when another panel wrote a process of its own there meanwhile.
   */
  private async recordInPlaceOf(
    environmentId: string,
    slot: Slot,
    previous: SlotRecord | null,
    record: SlotRecord,
  ): Promise<boolean> {
    const data = { ...record, startedAt: new Date() };
    const ours = [record, ...(previous ? [previous] : [])].map(({ pid, token }) => ({ pid, token }));
    const { count } = await this.prisma.localSlotProcess.updateMany({
      where: { environmentId, slot, OR: ours },
      data,
    });
    if (count === 1) return true;
    if (previous) return false;
    try {
      await this.prisma.localSlotProcess.create({ data: { environmentId, slot, ...data } });
      return true;
    } catch (error) {
      if (uniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * A pending process that exited after it listened, before a commit completed: the slot fails with how
   * it ended, and a row (and route) a half-done commit gave it go back to what ran there before.
   */
  private async abandonExited(rt: EnvRuntime, slot: Slot, child: SlotChild): Promise<void> {
    const state = rt.slots[slot];
    await child.reaped();
    const previous = state.replacing;
    if (previous !== undefined) {
      const row = await this.readSlot(rt.id, slot);
      if (row?.pid === child.pid && row.token === child.token) {
        if (previous)
          await this.prisma.localSlotProcess.updateMany({
            where: { environmentId: rt.id, slot, pid: child.pid, token: child.token },
            data: previous,
          });
        else
          await this.prisma.localSlotProcess.deleteMany({
            where: { environmentId: rt.id, slot, pid: child.pid, token: child.token },
          });
        await this.setUpstream(rt, slot, previous?.port ?? null);
        state.current = previous;
      }
    }
    state.replacing = undefined;
    this.recordStartFailure(state, child);
  }

  /** A commit that never completed leaves the process it was replacing running: stop it, unless it is `kept`. */
  private stopReplaced(state: SlotRuntime, kept: SlotRecord | null): void {
    const replaced = state.replacing;
    state.replacing = undefined;
    if (replaced && replaced.pid !== kept?.pid) this.track(this.stopRecorded(replaced));
  }

  private recordStartFailure(state: SlotRuntime, child: SlotChild): void {
    state.pending = null;
    state.failure = { releaseId: child.releaseId, detail: child.describeExit() };
    this.children.delete(child.pid);
  }

  private cancelPending(state: SlotRuntime): void {
    const pending = state.pending;
    if (!pending) return;
    state.pending = null;
    this.track(this.stopChild(pending));
  }

  private async stopChild(child: SlotChild): Promise<void> {
    child.stopRequested = true;
    if (child.alive) await terminatePid(child.pid, this.stopGraceMs, child.exited);
    this.children.delete(child.pid);
  }

  /** Stops a recorded process, if it is still ours (our child, or it carries the recorded token). */
  private async stopRecorded(record: SlotRecord): Promise<void> {
    const child = this.children.get(record.pid);
    if (child && child.token === record.token) return this.stopChild(child);
    if (!isAlive(record.pid)) return;
    const ours =
      (await identify(this.connectHost, record.port, record.token, this.checkTimeoutMs))?.pid === record.pid ||
      carriesToken(record.pid, record.token);
    if (ours) {
      await terminatePid(record.pid, this.stopGraceMs);
      await this.prisma.localProcess.deleteMany({ where: { token: record.token } });
    } else this.log.warn({ pid: record.pid }, "not stopping a recorded pid that is no longer ours");
  }

  private track(promise: Promise<void>): void {
    const tracked = promise.catch((error) => this.log.error({ err: error }, "stopping a slot process failed"));
    this.stopping.add(tracked);
    void tracked.finally(() => this.stopping.delete(tracked));
  }

  /** Whether a recorded process proves it is ours, asked again while it runs with its token (askWhileRunning). */
  private provesOurs(record: SlotRecord, patienceMs: number): Promise<boolean> {
    return askWhileRunning(
      () => this.isOurLiveProcess(record),
      () => isAlive(record.pid) && carriesToken(record.pid, record.token),
      patienceMs,
      () =>
        this.log.warn(
          { pid: record.pid, port: record.port },
          "a recorded slot process does not answer yet; asking again",
        ),
    );
  }

  private async isOurLiveProcess(record: SlotRecord): Promise<boolean> {
    if (!isAlive(record.pid)) return false;
    const identity = await identify(this.connectHost, record.port, record.token, this.checkTimeoutMs);
    return identity?.pid === record.pid;
  }

  private async observeSlot(rt: EnvRuntime, slot: Slot, row: SlotRecord | null): Promise<SlotState> {
    const state = rt.slots[slot];
    const base = { slot, desired: 1, running: 0, healthy: 0, pending: 0 };
    if (state.pending) {
      const pending = state.pending;
      const starting = { ...base, releaseId: pending.releaseId, pending: 1, rollout: "in_progress" as const };
      if (pending.port === null)
        return { ...starting, detail: `process ${pending.pid} is starting (it has not printed its port yet)` };
      // It listens, but was not recorded and routed to when it did (the database or the data plane failed
      // that call): nothing else would try again (the planner waits on what this says), so this does.
      try {
        await this.withSlotLock(rt, slot, async () => {
          // (A process that exited meanwhile is abandoned there, not recorded.)
          if (state.pending === pending && !this.stopped) await this.commit(rt, slot, pending);
        });
      } catch (error) {
        return {
          ...starting,
          detail: `process ${pending.pid} listens on port ${pending.port} but is not routed to yet: ${(error as Error).message}`,
        };
      }
      row = await this.readSlot(rt.id, slot);
    }
    if (state.failure)
      return { ...base, releaseId: state.failure.releaseId, rollout: "failed", detail: state.failure.detail };
    if (!row) return { ...base, releaseId: null, desired: 0, rollout: "stopped", detail: null };
    if (!isAlive(row.pid)) {
      const child = this.children.get(row.pid);
      const ours = child && child.token === row.token ? child : null;
      await ours?.reaped();
      const detail = ours?.exit ? ours.describeExit() : `process ${row.pid} (port ${row.port}) is not running`;
      return { ...base, releaseId: row.releaseId, rollout: "failed", detail };
    }
    // Another panel instance started it (it drove this environment before, and is gone or handed the
    // deployment over): route to it once it proves who it is, as start() would.
    if (state.current?.pid !== row.pid && (await this.isOurLiveProcess(row))) {
      await this.setUpstream(rt, slot, row.port);
      state.current = row;
    }
    const health = await this.checkHealth(row.port);
    if (health === null)
      return { ...base, releaseId: row.releaseId, running: 1, healthy: 1, rollout: "steady", detail: null };
    return {
      ...base,
      releaseId: row.releaseId,
      running: 1,
      rollout: "in_progress",
      detail: `process ${row.pid} is not healthy: ${health}`,
    };
  }

  /** null when /health answers 200, else why not. */
  private async checkHealth(port: number): Promise<string | null> {
    try {
      const answer = await httpGet(this.connectHost, port, "/health", {}, this.checkTimeoutMs);
      return answer.status === 200 ? null : `/health answered ${answer.status}`;
    } catch (error) {
      return `/health failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
  }

  private childEnvironment(
    environmentId: string,
    slot: Slot,
    release: ReleaseRef,
    token: string,
  ): Record<string, string> {
    return {
      ...safeEnvironment(),
      PORT: "0",
      HOST: this.host,
      GREENLIGHT_TOKEN: token,
      GREENLIGHT_PARENT_PID: String(process.pid),
      GREENLIGHT_ORPHAN_GRACE_SECONDS: String(this.orphanGraceSeconds),
      GREENLIGHT_ENVIRONMENT_ID: environmentId,
      GREENLIGHT_RELEASE_ID: release.id,
      RELEASE_VERSION: release.version,
      SLOT: slot,
      RELEASE_SETTINGS: JSON.stringify(release.settings ?? {}),
    };
  }

  // ─── Helpers ───────────────────────────────────────────────────────────────────────────────────

  private withSlotLock<T>(rt: EnvRuntime, slot: Slot, fn: () => Promise<T>): Promise<T> {
    const state = rt.slots[slot];
    const run = state.lock.then(fn, fn);
    state.lock = run.catch(() => {});
    return run;
  }

  private async readSlot(environmentId: string, slot: Slot): Promise<SlotRecord | null> {
    return this.prisma.localSlotProcess.findUnique({
      where: { environmentId_slot: { environmentId, slot } },
      select: { pid: true, port: true, releaseId: true, token: true },
    });
  }

  private async loadRelease(releaseId: string): Promise<ReleaseRef | null> {
    const release = await this.prisma.release.findUnique({
      where: { id: releaseId },
      select: { id: true, version: true, artifact: true, settings: true },
    });
    if (!release) return null;
    const settings =
      release.settings && typeof release.settings === "object" && !Array.isArray(release.settings)
        ? (release.settings as Record<string, unknown>)
        : {};
    return { id: release.id, version: release.version, artifact: release.artifact, settings };
  }

  private urlFor(port: number): string {
    return this.connectHost.includes(":")
      ? `http://[${this.connectHost}]:${port}`
      : `http://${this.connectHost}:${port}`;
  }

  /**
   * Children left by a dead panel live only while someone asks who they are (the orphan watchdog):
   * every running slot process gets an identity check well within the grace period.
   */
  private startHeartbeat(): void {
    if (this.heartbeat) return;
    const every = Math.max(500, Math.min(30_000, (this.orphanGraceSeconds * 1000) / 3));
    this.heartbeat = setInterval(() => void this.beat(), every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async beat(): Promise<void> {
    for (const rt of await this.settledRuntimes()) {
      for (const slot of SLOTS) {
        const current = rt.slots[slot].current;
        if (current && isAlive(current.pid))
          await identify(this.connectHost, current.port, current.token, this.checkTimeoutMs);
      }
    }
  }
}

/** Only what a child process needs: the panel's secrets (database URL, auth secret) stay with the panel. */
function safeEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of SAFE_ENV) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  return env;
}

function slotMetrics(window: SlotWindow): SlotMetrics {
  const { firstErrorAt, ...rest } = window;
  return { ...rest, firstErrorAt: firstErrorAt === null ? null : new Date(firstErrorAt) };
}
