/**
 * What the machine did each second while a test ran: how busy its CPUs were, how many processes were
 * ready to run, and how long the host took a CPU away (steal). A test whose failure may be the
 * machine's (a good release rolled back on a busy CI host) prints it with the failure, so whoever reads
 * the failure knows whether the host took the time.
 */
import fs from "node:fs";
import { mostStolenMs, stealTicksPerCpu } from "../../server/targets/local/data-plane/cpu-wait.ts";

interface Reading {
  at: number;
  /** Busy and all ticks, over every CPU ("cpu" line, user to steal: everything but idle and iowait is busy). */
  busy: number;
  all: number;
  steal: number[];
  running: number;
}

function read(): Reading | null {
  let stat: string;
  try {
    stat = fs.readFileSync("/proc/stat", "utf8");
  } catch {
    return null;
  }
  // The guest figures after steal are already counted in user and nice.
  const total = stat.split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const steal = stealTicksPerCpu(stat);
  if (total.length < 8 || steal === null) return null;
  const all = total.reduce((sum, ticks) => sum + ticks, 0);
  return {
    at: Date.now(),
    busy: all - total[3]! - total[4]!,
    all,
    steal,
    running: Number(/^procs_running (\d+)$/m.exec(stat)?.[1] ?? 0),
  };
}

/** One line per second worth naming: the host took a CPU for 20 ms or more, or eight processes waited to run. */
const NOTABLE_STEAL_MS = 20;
const NOTABLE_RUNNING = 8;

export interface MachineLog {
  stop(): void;
  /** The notable seconds and a summary, for a failure message. */
  report(): string;
}

export function logMachine(): MachineLog {
  const lines: string[] = [];
  let seconds = 0;
  let mostStolen = 0;
  let busyShare = 0;
  let last = read();
  const timer = setInterval(() => {
    const now = read();
    if (!last || !now) return;
    const stolen = mostStolenMs(last.steal, now.steal);
    const busy = now.all > last.all ? (now.busy - last.busy) / (now.all - last.all) : 0;
    seconds++;
    busyShare += busy;
    mostStolen = Math.max(mostStolen, stolen);
    if (stolen >= NOTABLE_STEAL_MS || now.running >= NOTABLE_RUNNING)
      lines.push(
        `${new Date(now.at).toISOString().slice(11, 19)} busy ${Math.round(busy * 100)} %, the host took a CPU ${stolen} ms, ${now.running} ready to run`,
      );
    last = now;
  }, 1000);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    report: () =>
      seconds === 0
        ? "the machine: /proc/stat not read"
        : [
            `the machine over ${seconds} s: busy ${Math.round((busyShare / seconds) * 100)} % on average; the most the host took one CPU in a second: ${mostStolen} ms`,
            ...lines.slice(-60),
          ].join("\n"),
  };
}
