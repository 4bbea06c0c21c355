/**
 * Test tiers: `unit` (pure rules), `pglite` (integration on the embedded database, in-process),
 * `postgres` (the same integration suites plus multi-connection tests, on TEST_DATABASE_URL),
 * `redis` (two panel instances fanning out over TEST_REDIS_URL) and `prometheus` (gates judged by a real
 * Prometheus server, when its binary is installed). A tier that cannot run is left out with one
 * "skipped because …" line.
 */
import fs from "node:fs";
import { defineConfig } from "vitest/config";
import { testEnvironment } from "./server/config";
import TierSequencer from "./test/tier-sequencer";

// The "skipped because …" lines are printed once, by test/global-setup.ts.
const env = testEnvironment();

/**
 * The integration suites that run on both databases. What differs between PGlite and PostgreSQL, for
 * our code, is the engine the migrations and the audit triggers run on and the driver adapter: its
 * types, its unique-violation errors, raw sessions and the streamed export (server/db/open.ts,
 * server/http/audit-routes.ts). These suites go through exactly that.
 *
 * Every other suite runs once: on PostgreSQL where it is configured (the production database, whose
 * concurrent connections make the races real: two starts at once, two schedulers claiming one window,
 * two reconcilers sharing leases), else on PGlite. The embedded database still walks the same code end
 * to end in the process tier, the Prometheus tier and every Playwright spec (`npm start` runs on
 * PGlite). Running all of them twice cost the suite about a hundred CPU-seconds on a two-core machine.
 *
 * That includes the suites whose database use is incidental (processes, proxies, HTTP, the fuzzer's
 * 10,000 calls): PostgreSQL answers them in a process of its own, where PGlite runs every query in
 * WebAssembly on the test worker's thread. The fourteen of them took 152 CPU-s on PGlite, 122 on
 * PostgreSQL, and running them there found a panel that exited when its database went away (the
 * CloudWatch feed's unhandled rejection).
 */
const BOTH_DATABASES = [
  "test/integration/migrations.test.ts",
  "test/integration/fresh-database.test.ts",
  "test/integration/schema-matches-migrations.test.ts",
  "test/integration/duplicate-writes.test.ts",
  "test/integration/audit-export.test.ts",
  "test/integration/audit-tamper.test.ts",
  "test/integration/audit-retention.test.ts",
];

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    // The unit and integration tiers share a worker's module graph across files (isolate: false):
    // loading the server and Prisma once per worker rather than once per file takes ~80 s off the
    // run. Every integration file starts and closes its own panel and database, and no test mocks
    // modules or globals. What does carry over is process.env: each panel start sets NODE_ENV and
    // NEXTAUTH_URL again (the last one wins, which is always the running file's), and the one test
    // that edits other variables restores them. The process tier stays isolated.
    maxWorkers: 2,
    fileParallelism: true,
    sequence: { sequencer: TierSequencer },
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], isolate: false } },
      {
        extends: true,
        test: {
          name: "pglite",
          include: env.databaseUrl ? BOTH_DATABASES : ["test/integration/**/*.test.ts"],
          provide: { backend: "pglite" },
          isolate: false,
        },
      },
      // The panel as a real child process: start-up, shutdown, restarts.
      {
        extends: true,
        test: { name: "process", include: ["test/process/**/*.test.ts"], provide: { backend: "pglite" } },
      },
      ...(env.databaseUrl
        ? [
            {
              extends: true as const,
              test: {
                name: "postgres",
                include: ["test/integration/**/*.test.ts", "test/postgres/**/*.test.ts"],
                provide: { backend: "postgres" as const },
                isolate: false,
              },
            },
          ]
        : []),
      ...(env.databaseUrl && env.redisUrl
        ? [
            {
              extends: true as const,
              test: { name: "redis", include: ["test/redis/**/*.test.ts"], provide: { backend: "postgres" as const } },
            },
          ]
        : []),
      // A real Prometheus server (one per test file) scraping the demo service of a local-target environment.
      ...(fs.existsSync(env.prometheusPath)
        ? [
            {
              extends: true as const,
              test: {
                name: "prometheus",
                include: ["test/prometheus/**/*.test.ts"],
                provide: { backend: "pglite" as const },
                isolate: false,
              },
            },
          ]
        : []),
    ],
  },
});
