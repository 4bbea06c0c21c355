/**
 * `npm run bench -- <name> [options]`: benchmarks that print `BENCH <name> key=value …` lines.
 * Targets are checked by reading the figures, never by timed assertions in the test suite.
 *
 *   rollback [--runs 20]           gate breach → 100% on the live slot (goal p95 ≤ 2000 ms)
 *   fanout [--sizes 200,1000] [--messages 30]  metrics event → 200 / 1000 Socket.io clients (goal p95 < 50 ms at 1000)
 *   proxy [--seconds 20]           latency through the local proxy vs direct at 500 req/s (goal p99 overhead < 2 ms)
 *   verdicts [--rps 200,20] [--healthy-runs 50] [--bad-runs 20] [--no-ui]  good releases stay, bad ones go, and how fast (see bench/verdicts.ts)
 *   audit [--events 1000000]       audit log on PostgreSQL (TEST_DATABASE_URL): filtered query p95 (goal < 100 ms), export rows/s (goal ≥ 50,000) with flat RSS
 *   fuzz [--runs 50000] [--seed n] generated inputs across every tRPC procedure: counts by status (goal: no 5xx)
 *   api [--clients 200] [--deployments 20] [--seconds 30] [--postgres]  deployment pages (queries + a socket each) against 20 active deployments (goal p95 < 100 ms)
 *   ecs-silent [--deadline 30]     a deployment pass against an AWS endpoint that never answers: time to fail (default settings)
 *   ecs-deployment [--bake 60] [--listeners 2] [--speed 20]  AWS calls per phase of an ECS deployment, and what its charts show
 *   overview [--services 500] [--environments 3] [--requests 60] [--postgres] [--no-page]  the overview page and its query with 500 × 3 (goal p95 < 300 ms)
 *   page-cpu [--seconds 30] [--rate 20]  how busy an open deployment page keeps the browser's main thread (needs Chromium)
 *   all                            every benchmark above, one after the other
 *
 * Any of them takes `--pglite-template <file>`: embedded databases start from that migrated dump (the
 * suite's smoke test; start-up is in no figure).
 */

function option(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1]! : fallback;
}

/**
 * Each benchmark's module is imported only when it runs: loading all of them (Playwright, the AWS
 * mocks, fast-check, the server) cost every `npm run bench` process about 3 CPU-seconds before it
 * read its arguments, and the suite's smoke test starts twelve.
 */
const BENCHES: Record<string, (args: string[]) => Promise<string | string[]>> = {
  rollback: async (args) =>
    (await import("./rollback.ts")).runRollbackBench({ runs: Number(option(args, "runs", "20")) }),
  fanout: async (args) =>
    (await import("./fanout.ts")).runFanoutBench({
      sizes: option(args, "sizes", "200,1000").split(",").map(Number),
      messages: Number(option(args, "messages", "30")),
    }),
  proxy: async (args) => (await import("./proxy.ts")).runProxyBench({ seconds: Number(option(args, "seconds", "20")) }),
  verdicts: async (args) =>
    (await import("./verdicts.ts")).runVerdictsBench({
      rps: option(args, "rps", "200,20").split(",").map(Number),
      healthyRuns: Number(option(args, "healthy-runs", "50")),
      badRuns: Number(option(args, "bad-runs", "20")),
      scenarios: option(args, "scenarios", "healthy,errors_50pct,errors_plus_2pp,latency_plus_300ms").split(
        ",",
      ) as never,
      clients: Number(option(args, "clients", "1000")),
      ui: !args.includes("--no-ui"),
      lanes: { 200: Number(option(args, "lanes-200", "4")), 20: Number(option(args, "lanes-20", "25")) },
      ...(args.includes("--bake") ? { bake: Number(option(args, "bake", "10")) } : {}),
    }),
  "ecs-silent": async (args) =>
    (await import("./ecs-silent.ts")).runEcsSilentBench({ deadlineSeconds: Number(option(args, "deadline", "30")) }),
  "ecs-deployment": async (args) =>
    (await import("./ecs-deployment.ts")).runEcsDeploymentBench({
      bakeSeconds: Number(option(args, "bake", "60")),
      listeners: Number(option(args, "listeners", "2")),
      speed: Number(option(args, "speed", "20")),
    }),
  audit: async (args) =>
    (await import("./audit.ts")).runAuditBench({
      events: Number(option(args, "events", "1000000")),
      queries: Number(option(args, "queries", "60")),
      verify: args.includes("--verify"),
    }),
  api: async (args) =>
    (await import("./api.ts")).runApiBench({
      clients: Number(option(args, "clients", "200")),
      deployments: Number(option(args, "deployments", "20")),
      seconds: Number(option(args, "seconds", "30")),
      postgres: args.includes("--postgres"),
    }),
  overview: async (args) =>
    (await import("./overview.ts")).runOverviewBench({
      services: Number(option(args, "services", "500")),
      environments: Number(option(args, "environments", "3")),
      requests: Number(option(args, "requests", "60")),
      postgres: args.includes("--postgres"),
      page: !args.includes("--no-page"),
    }),
  "page-cpu": async (args) =>
    (await import("./page-cpu.ts")).runPageCpuBench({
      seconds: Number(option(args, "seconds", "30")),
      rate: Number(option(args, "rate", "20")),
    }),
  fuzz: async (args) =>
    (await import("./fuzz.ts")).runFuzzBench({
      runs: Number(option(args, "runs", "50000")),
      seed: Number(option(args, "seed", String(Date.now() % 1_000_000))),
    }),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const names = name === "all" || !name ? Object.keys(BENCHES) : [name];
  for (const n of names)
    if (!BENCHES[n]) throw new Error(`Unknown benchmark "${n}". Known: ${Object.keys(BENCHES).join(", ")}, all`);
  const template = option(args, "pglite-template", "");
  if (template) (await import("./panel.ts")).startFromTemplate(template);
  for (const n of names) {
    const bench = BENCHES[n]!;
    const result = await bench(args);
    for (const line of Array.isArray(result) ? result : [result])
      if (!line.startsWith("BENCH fanout") || n !== "fanout") console.log(line);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
