/**
 * How long the machine kept a slot waiting for a CPU: the local target's slots share the panel's
 * machine, and when it is saturated (a busy CI runner starting forty processes at once) every slot
 * answers slowly however good its release is. Linux counts, for every thread, the time it spent ready
 * to run but waiting on a run queue and the time slices it ran (/proc/<pid>/schedstat: "<on cpu ns>
 * <waiting ns> <slices>"). The data plane reads them each second for the process that listens on each
 * slot's port, and for itself, and takes the mean wait per slice: how long a request's turn was
 * delayed. (The total says little: 200 requests a second, each waiting a third of a millisecond on a
 * busy machine, add up to 70 ms, and no request was held up.)
 *
 * The listening process is found from the port alone (/proc/net/tcp{,6}, then the /proc/<pid>/fd link
 * to that socket), so the data plane needs nothing from the panel and works the same after adoption.
 * Only its main thread is read: that is where Node (the demo service, and the services the local
 * target is built for) answers requests. Where /proc says nothing (another OS, a process of another
 * user), nothing is measured and no second is ever set aside.
 *
 * A process seen for the first time has no previous reading. When it started moments ago (a new
 * release's slot, or a data plane started afresh) its counters since birth are that reading: its first
 * seconds, the ones a saturated machine holds up most (forty processes starting at once), are measured
 * like any other. Only a process already running for a while when it is first seen (one adopted by a
 * restarted data plane) waits for a second reading.
 *
 * On a virtual machine, the host can also take a CPU away (steal time, which Linux counts per CPU in
 * /proc/stat). A process running on a CPU the host took stops dead, and its own schedstat counts that
 * time neither as running nor as waiting: only the processes queued behind it show a wait. So the meter
 * also reads how long the host took each CPU since the previous reading, and reports the most it took
 * one: a slot's process may have been on it.
 */
import fs from "node:fs/promises";
import { startTicksOf } from "../slot-process.ts";

/** The inodes of the sockets listening on `port` in a /proc/net/tcp or tcp6 table. */
export function listeningInodes(table: string, port: number): string[] {
  const wanted = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes: string[] = [];
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (fields.length < 10) continue;
    const localPort = fields[1]!.split(":")[1];
    if (fields[3] === "0A" && localPort === wanted && fields[9] !== "0") inodes.push(fields[9]!);
  }
  return inodes;
}

/** A thread's run-queue wait (ns) and time slices so far, from its /proc/<pid>/schedstat line. */
export interface Schedstat {
  waitNs: number;
  slices: number;
}

export function parseSchedstat(line: string): Schedstat | null {
  const [, waiting, slices] = line.trim().split(/\s+/).map(Number);
  return Number.isFinite(waiting) && Number.isFinite(slices) ? { waitNs: waiting!, slices: slices! } : null;
}

/** The mean wait per time slice between two readings (ms); 0 when it did not run. */
export function meanWaitMs(before: Schedstat, after: Schedstat): number {
  const slices = after.slices - before.slices;
  return slices > 0 ? Math.max(0, after.waitNs - before.waitNs) / slices / 1e6 : 0;
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, "utf8");
  } catch {
    return null;
  }
}

/** A process's main-thread figures, or null where /proc says nothing. */
async function schedstatOf(pid: number | "self"): Promise<Schedstat | null> {
  return parseSchedstat((await readText(`/proc/${pid}/schedstat`)) ?? "");
}

/** Younger than this when first seen: measured from its start (see the top of this file). */
export const MEASURED_FROM_START_MS = 10_000;

const BIRTH: Schedstat = { waitNs: 0, slices: 0 };

/** The reading to compare a process's first one with: its birth when it is young, else none. */
export function firstBaseline(ageMs: number | null): Schedstat | null {
  return ageMs !== null && ageMs >= 0 && ageMs < MEASURED_FROM_START_MS ? BIRTH : null;
}

/** Milliseconds in one of /proc's clock ticks: Linux reports them at USER_HZ, 100 a second, on every architecture. */
const MS_PER_TICK = 10;

/**
 * How long ago a process started (ms), from its start time in /proc/<pid>/stat (clock ticks since
 * boot, field 22) and /proc/uptime; null where /proc says nothing.
 */
export function processAgeMs(stat: string, uptime: string): number | null {
  const startTicks = startTicksOf(stat);
  const upSeconds = Number(uptime.split(" ")[0]);
  if (startTicks === null || !uptime.trim() || !Number.isFinite(upSeconds)) return null;
  return upSeconds * 1000 - startTicks * MS_PER_TICK;
}

/** How long ago a process started (ms), or null where /proc says nothing. */
export async function processAge(pid: number | "self"): Promise<number | null> {
  const [stat, uptime] = await Promise.all([readText(`/proc/${pid}/stat`), readText("/proc/uptime")]);
  return stat === null || uptime === null ? null : processAgeMs(stat, uptime);
}

/**
 * Each CPU's steal time so far (clock ticks, see MS_PER_TICK), from /proc/stat's "cpuN" lines (the eighth
 * figure after the name: user nice system idle iowait irq softirq steal); null where it says nothing.
 */
export function stealTicksPerCpu(procStat: string): number[] | null {
  const ticks: number[] = [];
  for (const line of procStat.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (!/^cpu\d+$/.test(fields[0] ?? "")) continue;
    const steal = Number(fields[8]);
    if (fields.length < 9 || !Number.isInteger(steal) || steal < 0) return null;
    ticks.push(steal);
  }
  return ticks.length > 0 ? ticks : null;
}

/** The most time the host took one CPU between two readings (ms); 0 when the CPUs are not the same ones. */
export function mostStolenMs(before: number[], after: number[]): number {
  if (before.length !== after.length) return 0;
  return Math.max(0, ...after.map((ticks, cpu) => (ticks - before[cpu]!) * MS_PER_TICK));
}

/** The process holding a socket with one of `inodes` open, or null. */
async function processHolding(inodes: string[]): Promise<number | null> {
  if (inodes.length === 0) return null;
  const links = new Set(inodes.map((inode) => `socket:[${inode}]`));
  let pids: string[];
  try {
    // Newest first: the listener is a slot process started moments ago.
    pids = (await fs.readdir("/proc")).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await fs.readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => null)));
    if (targets.some((target) => target !== null && links.has(target))) return Number(pid);
  }
  return null;
}

/** The process listening on a loopback port, found through /proc. */
export async function listenerOf(port: number): Promise<number | null> {
  const tables = await Promise.all(["/proc/net/tcp", "/proc/net/tcp6"].map(readText));
  return processHolding(tables.flatMap((table) => (table ? listeningInodes(table, port) : [])));
}

/** How long a port nobody was found listening on waits before it is looked up again. */
const LOOK_AGAIN_MS = 5000;

interface Watched {
  pid: number | null;
  lookedUpAt: number;
  last: Schedstat | null;
}

/** What the machine held up since the previous reading (ms; null: not known yet, or not measurable). */
export interface MachineWaits {
  /** Each port's listener's mean wait per time slice for a CPU. */
  ports: Map<number, number | null>;
  /** This process's own. */
  own: number | null;
  /** The most time the host took one CPU away (steal). */
  stolen: number | null;
}

/**
 * Each port's listener's mean wait per time slice since the previous reading, this process's own, and
 * the most the host took one CPU. A port's listener is looked up when the port is first read and again
 * whenever its process has gone (a slot restarted on the same port).
 */
export class CpuWaitMeter {
  private readonly watched = new Map<number, Watched>();
  private own: Schedstat | null = null;
  private steal: number[] | null = null;

  constructor(
    private readonly findListener: (port: number) => Promise<number | null> = listenerOf,
    private readonly now: () => number = Date.now,
    private readonly ageOfProcess: (pid: number | "self") => Promise<number | null> = processAge,
    private readonly readProcStat: () => Promise<string | null> = () => readText("/proc/stat"),
  ) {}

  /** What the machine held up since the previous reading (see MachineWaits). */
  async read(ports: number[]): Promise<MachineWaits> {
    for (const port of this.watched.keys()) if (!ports.includes(port)) this.watched.delete(port);
    const waited = new Map<number, number | null>();
    const lookUp = async (port: number): Promise<Watched> => {
      const entry: Watched = { pid: await this.findListener(port), lookedUpAt: this.now(), last: null };
      this.watched.set(port, entry);
      return entry;
    };
    const reading = (entry: Watched) => (entry.pid === null ? null : schedstatOf(entry.pid));
    await Promise.all(
      ports.map(async (port) => {
        let entry = this.watched.get(port);
        if (!entry || (entry.pid === null && this.now() - entry.lookedUpAt >= LOOK_AGAIN_MS))
          entry = await lookUp(port);
        let now = await reading(entry);
        // Gone: whoever listens now (if anyone) starts a new reading.
        if (now === null && entry.pid !== null) now = await reading((entry = await lookUp(port)));
        if (now !== null && entry.last === null && entry.pid !== null)
          entry.last = firstBaseline(await this.ageOfProcess(entry.pid));
        waited.set(port, now !== null && entry.last !== null ? meanWaitMs(entry.last, now) : null);
        entry.last = now;
      }),
    );
    const own = await schedstatOf("self");
    if (own !== null && this.own === null) this.own = firstBaseline(await this.ageOfProcess("self"));
    const ownWait = own !== null && this.own !== null ? meanWaitMs(this.own, own) : null;
    this.own = own;
    const steal = stealTicksPerCpu((await this.readProcStat()) ?? "");
    const stolen = steal !== null && this.steal !== null ? mostStolenMs(this.steal, steal) : null;
    this.steal = steal;
    return { ports: waited, own: ownWait, stolen };
  }
}
