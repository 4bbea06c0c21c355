/**
 * `npm run bench -- fuzz [--runs 50000] [--seed n]`: the fuzz test's generator (test/helpers/fuzz.ts)
 * at a larger size, against a fresh panel. Prints
 * `BENCH fuzz runs=… seconds=… status_200=… status_400=… … status_5xx=…` and the procedures the run
 * spent most time in; any 5xx is printed with its input.
 */
import { describeStatuses, generateCalls, sendCalls } from "../test/helpers/fuzz.ts";
import { prepareFuzzWorld } from "../test/helpers/fuzz-panel.ts";
import { startBenchPanel } from "./panel.ts";

export async function runFuzzBench(options: { runs: number; seed: number }): Promise<string[]> {
  const bench = await startBenchPanel();
  try {
    const world = await prepareFuzzWorld(bench.panel, bench.url);
    const calls = generateCalls(options.runs, options.seed, world.pool);
    const started = performance.now();
    const report = await sendCalls(bench.url, calls, world.cookies);
    const seconds = (performance.now() - started) / 1000;
    const fiveHundreds = Object.entries(report.byStatus)
      .filter(([status]) => Number(status) >= 500)
      .reduce((n, [, count]) => n + count, 0);
    const statuses = Object.entries(report.byStatus)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, n]) => `status_${status}=${n}`)
      .join(" ");
    const slowest = Object.entries(report.msByPath)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 5)
      .map(([path, ms]) => `${path}=${Math.round(ms)}ms`)
      .join(" ");
    return [
      `BENCH fuzz runs=${report.calls} seed=${options.seed} seconds=${seconds.toFixed(1)} ${statuses} status_5xx=${fiveHundreds}`,
      `fuzz: slowest procedures ${slowest}`,
      ...report.findings
        .slice(0, 20)
        .map((f) => `fuzz: ${f.status} from ${f.path}: ${f.message} — input ${JSON.stringify(f.input)?.slice(0, 300)}`),
      ...(report.findings.length ? [`fuzz: ${describeStatuses(report.byStatus)}`] : []),
    ];
  } finally {
    await bench.close();
  }
}
