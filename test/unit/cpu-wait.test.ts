import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  CpuWaitMeter,
  firstBaseline,
  listenerOf,
  listeningInodes,
  meanWaitMs,
  mostStolenMs,
  parseSchedstat,
  processAge,
  processAgeMs,
  stealTicksPerCpu,
} from "../../server/targets/local/data-plane/cpu-wait.ts";

const TABLE = [
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
  "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41001 1 0000000000000000 100 0 0 10 0",
  "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 41002 1 0000000000000000 20 4 30 10 -1",
  "   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41003 1 0000000000000000 100 0 0 10 0",
  "   3: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0",
].join("\n");

describe("listeningInodes: the sockets listening on a port, from /proc/net/tcp", () => {
  it.each([
    ["a listener on 8080 (1F90); the connection to it is not one", 8080, ["41001"]],
    ["a listener on every address", 80, ["41003"]],
    ["a socket without an inode (another namespace's) is not counted", 8081, []],
    ["nobody on the port", 9999, []],
  ])("%s", (_what, port, inodes) => {
    expect(listeningInodes(TABLE, port)).toEqual(inodes);
  });

  it("ignores a header, blank and short lines", () => {
    expect(listeningInodes("", 80)).toEqual([]);
    expect(listeningInodes("header\n\n  0: short line\n", 80)).toEqual([]);
  });
});

describe("parseSchedstat and meanWaitMs: a request's turn, delayed", () => {
  it.each([
    ["186090765 6302686 366\n", { waitNs: 6_302_686, slices: 366 }],
    ["0 0 1", { waitNs: 0, slices: 1 }],
    ["", null],
    ["garbage", null],
    ["1 2", null],
  ])("%j", (line, figures) => {
    expect(parseSchedstat(line)).toEqual(figures);
  });

  it.each([
    // [what, before, after, ms]
    ["200 slices waiting 70 ms together: a third of a millisecond each", [0, 0], [70e6, 200], 0.35],
    ["2 slices waiting 300 ms together: 150 ms each", [5e6, 10], [305e6, 12], 150],
    ["did not run: nothing held up", [5e6, 10], [5e6, 10], 0],
  ] as const)("%s", (_what, [w0, s0], [w1, s1], ms) => {
    expect(meanWaitMs({ waitNs: w0, slices: s0 }, { waitNs: w1, slices: s1 })).toBeCloseTo(ms, 9);
  });
});

describe("firstBaseline and processAgeMs: a young process is measured from its start", () => {
  it.each([
    ["started 300 ms ago: since its start", 300, { waitNs: 0, slices: 0 }],
    ["started just now", 0, { waitNs: 0, slices: 0 }],
    ["started 9.9 s ago", 9_900, { waitNs: 0, slices: 0 }],
    ["running for 10 s: waits for a second reading", 10_000, null],
    ["running for an hour (adopted)", 3_600_000, null],
    ["age unknown", null, null],
    ["a start time after now (a clock read wrong)", -50, null],
  ] as const)("%s", (_what, ageMs, baseline) => {
    expect(firstBaseline(ageMs)).toEqual(baseline);
  });

  const STAT = (command: string, startTicks: number) =>
    `4242 (${command}) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 2 0 0 20 0 1 0 ${startTicks} 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;
  it.each([
    ["started at 1000 s after boot, up 1000.25 s", STAT("node", 100_000), "1000.25 3000.00\n", 250],
    ["a command name with spaces and a parenthesis", STAT("my ) odd name", 100_000), "1002.00 1.00", 2000],
    ["no /proc/uptime figures", STAT("node", 100_000), "", null],
    ["not a stat line", "garbage", "1000.00 1.00", null],
  ] as const)("%s", (_what, stat, uptime, ageMs) => {
    const age = processAgeMs(stat, uptime);
    if (ageMs === null) expect(age).toBeNull();
    else expect(age).toBeCloseTo(ageMs, 6);
  });
});

/** A /proc/stat with each CPU's steal ticks (the other figures made up). */
const PROC_STAT = (...steal: number[]) =>
  [
    `cpu  64976 0 14396 124068 642 0 771 ${steal.reduce((a, b) => a + b, 0)} 0 0`,
    ...steal.map((ticks, cpu) => `cpu${cpu} 32000 0 7000 62000 300 0 380 ${ticks} 0 0`),
    "intr 1234 0 0",
    "ctxt 987654",
    "btime 1764800000",
  ].join("\n");

describe("stealTicksPerCpu and mostStolenMs: the time the host took a CPU away", () => {
  it.each([
    ["two CPUs (the all-CPU line is not one)", PROC_STAT(41, 50), [41, 50]],
    ["one CPU", PROC_STAT(7), [7]],
    ["a kernel without the steal figure", "cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n", null],
    ["a figure that is not a count", "cpu0 1 2 3 4 5 6 7 x 0 0\n", null],
    ["nothing", "", null],
  ] as const)("%s", (_what, stat, ticks) => {
    expect(stealTicksPerCpu(stat)).toEqual(ticks);
  });

  it.each([
    // [what, before, after, ms]
    ["the host took CPU 1 for 340 ms", [41, 50], [41, 84], 340],
    ["both a little: the most from one counts, not the sum", [0, 0], [3, 4], 40],
    ["nothing taken", [41, 50], [41, 50], 0],
    ["a CPU came or went: not comparable", [41, 50], [41, 50, 0], 0],
  ] as const)("%s", (_what, before, after, ms) => {
    expect(mostStolenMs([...before], [...after])).toBe(ms);
  });
});

describe("CpuWaitMeter on this machine's /proc", () => {
  let server: http.Server | null = null;
  let child: ChildProcess | null = null;
  afterEach(() => {
    child?.kill("SIGKILL");
    child = null;
    return new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** A process of its own, started now, listening on an OS-chosen port. */
  async function youngListener(): Promise<{ port: number }> {
    const started = spawn(
      process.execPath,
      [
        "-e",
        `require("node:http").createServer().listen(0, "127.0.0.1", function () { console.log(this.address().port) })`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    child = started;
    const port = await new Promise<number>((resolve, reject) => {
      started.stdout.once("data", (chunk) => resolve(Number(String(chunk).trim())));
      started.once("exit", (code) => reject(new Error(`the listener exited with ${code}`)));
    });
    return { port };
  }

  async function listen(): Promise<number> {
    server = http.createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  }

  it("finds the process listening on a port", async () => {
    expect(await listenerOf(await listen())).toBe(process.pid);
  });

  it("reads a listener running for a while, and its own wait, from the second reading on: nothing at first, then a number", async () => {
    const port = await listen();
    const meter = new CpuWaitMeter(listenerOf, Date.now, async () => 60_000);
    const first = await meter.read([port]);
    expect(first.ports.get(port)).toBeNull();
    expect(first.own).toBeNull();
    const second = await meter.read([port]);
    expect(second.ports.get(port)).toBeGreaterThanOrEqual(0);
    expect(second.own).toBeGreaterThanOrEqual(0);
  });

  it("measures a listener that started moments ago, and itself when young, from the first reading", async () => {
    const child = await youngListener();
    const meter = new CpuWaitMeter(listenerOf, Date.now, async (pid) => (pid === "self" ? 1000 : processAge(pid)));
    const first = await meter.read([child.port]);
    expect(first.ports.get(child.port)).toBeGreaterThanOrEqual(0);
    expect(first.own).toBeGreaterThanOrEqual(0);
  });

  it("reports the most the host took one CPU since the previous reading, from the second reading on", async () => {
    const readings = [PROC_STAT(41, 50), PROC_STAT(41, 84), PROC_STAT(42, 84), null];
    const meter = new CpuWaitMeter(listenerOf, Date.now, processAge, async () => readings.shift()!);
    expect((await meter.read([])).stolen).toBeNull();
    expect((await meter.read([])).stolen).toBe(340);
    expect((await meter.read([])).stolen).toBe(10);
    // /proc/stat unreadable: nothing known.
    expect((await meter.read([])).stolen).toBeNull();
  });

  it("reads this machine's steal time: a number from the second reading on", async () => {
    const meter = new CpuWaitMeter();
    await meter.read([]);
    expect((await meter.read([])).stolen).toBeGreaterThanOrEqual(0);
  });

  it("looks a port up again when its listener has gone, and not more often than every 5 s while nobody listens", async () => {
    const lookups: number[] = [];
    const clock = { now: 0 };
    let listener: number | null = null;
    const meter = new CpuWaitMeter(
      async (port) => {
        lookups.push(port);
        return listener;
      },
      () => clock.now,
    );
    expect((await meter.read([7])).ports.get(7)).toBeNull();
    clock.now = 4999;
    await meter.read([7]);
    expect(lookups).toEqual([7]);
    clock.now = 5000;
    listener = process.pid;
    await meter.read([7]);
    expect(lookups).toEqual([7, 7]);
    expect(typeof (await meter.read([7])).ports.get(7)).toBe("number");
    // Gone (a pid no process has): looked up again at once.
    listener = 2 ** 22 + 1;
    const meter2 = new CpuWaitMeter(
      async (port) => {
        lookups.push(port);
        return listener;
      },
      () => clock.now,
    );
    await meter2.read([8]);
    await meter2.read([8]);
    expect(lookups.filter((p) => p === 8).length).toBe(3);
  });
});
