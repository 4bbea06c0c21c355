/**
 * The benchmarks still run: each is started through `npm run bench`'s entry point at a tiny size and
 * must print its `BENCH <name> …` line with every figure the issue asks for. The figures themselves
 * are not judged here (timings on a shared 2-core machine are not test material); this catches a
 * benchmark that rots when the product changes under it (it happened: production deployments began
 * to need approvals, and the rollback benchmark stopped at its first deployment).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { testEnvironment } from "../../server/config.ts";
import { ROOT } from "../helpers/process.ts";

const running = new Set<ChildProcess>();
afterAll(() => {
  // A benchmark cut off by a timeout takes its panel and processes with it.
  for (const child of running) child.kill("SIGKILL");
});

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += String(chunk)));
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  // "close", not "exit": the BENCH line must have been read.
  return new Promise((resolve) =>
    child.on("close", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
}

const number = String.raw`-?\d+(\.\d+)?`;
const figures = (...keys: string[]) => keys.map((key) => `(?=.* ${key}=${number}(\\s|$))`).join("");

describe.concurrent("npm run bench", () => {
  it.for<[string, string[], RegExp]>([
    ["rollback", ["rollback", "--runs", "1"], new RegExp(`^BENCH rollback runs=1${figures("p50_ms", "p95_ms", "max_ms")}`, "m")],
    ["proxy", ["proxy", "--seconds", "1"], new RegExp(`^BENCH proxy rps=500${figures("p50_ms", "p99_ms", "direct_p50_ms", "direct_p99_ms", "overhead_p99_ms")}.* errors=0`, "m")],
    ["fanout", ["fanout", "--sizes", "5", "--messages", "5"], new RegExp(`^BENCH fanout clients=5${figures("p50_ms", "p95_ms", "ws_p95_ms")}`, "m")],
  ])("%s prints its line", async ([, args, line], { expect }) => {
    const result = await bench(args);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(line);
  });

  it.skipIf(!testEnvironment().databaseUrl)("audit prints its line (PostgreSQL)", async ({ expect }) => {
    const result = await bench(["audit", "--events", "2000", "--queries", "3"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^BENCH audit events=2000${figures("query_p95_ms", "export_rows_per_s", "export_peak_rss_mb")}`, "m"));
  });
});

it("an unknown benchmark is refused, naming the known ones", async () => {
  const result = await bench(["nonsense"]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('Unknown benchmark "nonsense". Known: rollback, fanout, proxy, audit, all');
});
