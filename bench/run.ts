/**
 * `npm run bench -- <name> [options]`: benchmarks that print `BENCH <name> key=value …` lines.
 * Targets are checked by reading the figures, never by timed assertions in the test suite.
 *
 *   rollback [--runs 20]           gate breach → 100% on the live slot (goal p95 ≤ 2000 ms)
 *   fanout [--sizes 200,1000] [--messages 30]  metrics event → 200 / 1000 Socket.io clients (goal p95 < 50 ms at 1000)
 *   proxy [--seconds 20]           latency through the local proxy vs direct at 500 req/s (goal p99 overhead < 2 ms)
 *   audit [--events 1000000]       audit log on PostgreSQL (TEST_DATABASE_URL): filtered query p95 (goal < 100 ms), export rows/s (goal ≥ 50,000) with flat RSS
 *   all                            every benchmark above, one after the other
 */
import { runAuditBench } from "./audit.ts";
import { runFanoutBench } from "./fanout.ts";
import { runProxyBench } from "./proxy.ts";
import { runRollbackBench } from "./rollback.ts";

function option(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1]! : fallback;
}

const BENCHES: Record<string, (args: string[]) => Promise<string | string[]>> = {
  rollback: (args) => runRollbackBench({ runs: Number(option(args, "runs", "20")) }),
  fanout: (args) => runFanoutBench({ sizes: option(args, "sizes", "200,1000").split(",").map(Number), messages: Number(option(args, "messages", "30")) }),
  proxy: (args) => runProxyBench({ seconds: Number(option(args, "seconds", "20")) }),
  audit: (args) => runAuditBench({ events: Number(option(args, "events", "1000000")), queries: Number(option(args, "queries", "60")), verify: args.includes("--verify") }),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const names = name === "all" || !name ? Object.keys(BENCHES) : [name];
  for (const n of names) {
    const bench = BENCHES[n];
    if (!bench) throw new Error(`Unknown benchmark "${n}". Known: ${Object.keys(BENCHES).join(", ")}, all`);
    const result = await bench(args);
    for (const line of Array.isArray(result) ? result : [result]) if (!line.startsWith("BENCH fanout") || n !== "fanout") console.log(line);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
