/**
 * `npm run bench -- overview [--services 500] [--environments 3] [--requests 60] [--postgres] [--no-page]`:
 * the release manager's overview with many services.
 *
 * Seeds `services` × `environments` straight into the panel's database (a few releases each, the
 * live release, two finished deployments per environment, one environment in ten deploying, one
 * production in twenty awaiting approval, a minute of traffic), then times real HTTP requests with a
 * signed-in session: the page itself (GET /, server-rendered by Next.js) and its tRPC query
 * (services.overview: its first page, as the page asks for it), one after the other as a browser
 * opening the page waits for them.
 * Prints `BENCH overview services=… environments=… database=… requests=… p50_ms p95_ms` (page and
 * query together) with `html_p95_ms`, `query_p95_ms`, `query_kb` and `db_operations` (per overview).
 * Goal: p95 < 300 ms at 500 × 3. `--no-page` times the query alone (no production build needed).
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Prisma, PrismaClient } from "../server/db/generated/client.ts";
import { overview } from "../server/overview.ts";
import { overviewQuery } from "../server/overview-page.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../server/releases/policy.ts";
import { startBenchPanel } from "./panel.ts";
import { withScratchPostgres } from "./scratch-database.ts";
import { benchLine, percentile } from "./stats.ts";

export interface OverviewBenchOptions {
  services: number;
  environments: number;
  requests: number;
  postgres?: boolean;
  page?: boolean;
}

const ENVIRONMENT_NAMES = ["development", "staging", "production", "canary", "preview", "qa"];

/** `services` × `environments` with releases, deployments, change requests and recent traffic. */
export async function seedOverview(
  prisma: PrismaClient,
  services: number,
  environments: number,
  requesterId: string,
): Promise<void> {
  const now = Date.now();
  const names = ENVIRONMENT_NAMES.slice(0, environments);
  const serviceRows: Prisma.ServiceCreateManyInput[] = [];
  const envRows: Prisma.EnvironmentCreateManyInput[] = [];
  const releaseRows: Prisma.ReleaseCreateManyInput[] = [];
  const deploymentRows: Prisma.DeploymentCreateManyInput[] = [];
  const changeRows: Prisma.ChangeRequestCreateManyInput[] = [];
  const sampleRows: Prisma.MetricSampleCreateManyInput[] = [];
  for (let i = 0; i < services; i++) {
    const serviceId = randomUUID();
    const slug = `svc-${String(i + 1).padStart(4, "0")}`;
    serviceRows.push({ id: serviceId, slug, name: `Service ${String(i + 1).padStart(4, "0")}` });
    const releases = [1, 2, 3].map((minor) => ({
      id: randomUUID(),
      serviceId,
      version: `1.${minor}.0`,
      artifact: `registry.local/${slug}:1.${minor}.0`,
      createdAt: new Date(now - (4 - minor) * 86_400_000),
    }));
    releaseRows.push(...releases);
    names.forEach((name, position) => {
      const production = name === "production";
      const environmentId = randomUUID();
      // 1.1.0 went to blue, then 1.2.0 to green; one service in seven rolled 1.2.0 back, so 1.1.0 stays
      // live on blue there (the overview shows what the history says).
      const [first, second, third] = releases;
      const rolledBack = i % 7 === 0;
      const live = rolledBack ? first! : second!;
      const liveSlot = rolledBack ? ("blue" as const) : ("green" as const);
      const idleSlot = rolledBack ? ("green" as const) : ("blue" as const);
      const policy = defaultPolicy(production);
      envRows.push({
        id: environmentId,
        serviceId,
        name,
        position,
        production,
        policy,
        alertThresholds: DEFAULT_ALERT_THRESHOLDS,
        liveReleaseId: live.id,
        liveSlot,
      });
      deploymentRows.push(
        {
          releaseId: first!.id,
          environmentId,
          status: "succeeded" as const,
          targetSlot: "blue" as const,
          fromSlot: "green" as const,
          policy,
          startedAt: new Date(now - 3 * 86_400_000),
          finishedAt: new Date(now - 3 * 86_400_000 + 600_000),
        },
        {
          releaseId: second!.id,
          environmentId,
          status: rolledBack ? ("rolled_back" as const) : ("succeeded" as const),
          targetSlot: "green" as const,
          fromSlot: "blue" as const,
          fromReleaseId: first!.id,
          policy,
          startedAt: new Date(now - 2 * 86_400_000),
          finishedAt: new Date(now - 2 * 86_400_000 + 600_000),
        },
      );
      if ((i * environments + position) % 10 === 0) {
        deploymentRows.push({
          releaseId: third!.id,
          environmentId,
          activeEnvironmentId: environmentId,
          status: "shifting" as const,
          stepIndex: 1,
          targetSlot: idleSlot,
          fromSlot: liveSlot,
          fromReleaseId: live.id,
          policy,
          startedAt: new Date(now - 300_000),
        });
      }
      if (production && i % 20 === 0)
        changeRows.push({
          releaseId: third!.id,
          environmentId,
          type: "standard" as const,
          title: `${slug} 1.3.0`,
          requestedById: requesterId,
        });
      // The last minute of traffic on the live slot.
      if (position === 0 && i % 5 === 0) {
        for (let s = 0; s < 60; s++)
          sampleRows.push({
            environmentId,
            slot: liveSlot,
            at: new Date(Math.floor(now / 1000) * 1000 - s * 1000),
            requests: 20,
            errors: s % 30 === 0 ? 1 : 0,
            p50: 12,
            p95: 40,
            p99: 80,
            weight: 100,
          });
      }
    });
  }
  await prisma.service.createMany({ data: serviceRows });
  await prisma.release.createMany({ data: releaseRows });
  await prisma.environment.createMany({ data: envRows });
  for (let i = 0; i < deploymentRows.length; i += 1000)
    await prisma.deployment.createMany({ data: deploymentRows.slice(i, i + 1000) });
  await prisma.changeRequest.createMany({ data: changeRows });
  for (let i = 0; i < sampleRows.length; i += 2000)
    await prisma.metricSample.createMany({ data: sampleRows.slice(i, i + 2000) });
}

async function timed(url: string, cookie: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie } }).catch((error: Error) => {
    throw new Error(
      `GET ${url}: ${error.message} (${String((error.cause as Error | undefined)?.message ?? error.cause)})`,
    );
  });
  const body = await response.arrayBuffer();
  if (response.status !== 200)
    throw new Error(`GET ${url}: HTTP ${response.status} ${Buffer.from(body).toString("utf8").slice(0, 300)}`);
  return { ms: performance.now() - started, bytes: body.byteLength };
}

/** Operations the overview runs on the database (raw SQL included), counted once. */
async function operations(prisma: PrismaClient): Promise<number> {
  let n = 0;
  const counting = prisma.$extends({
    query: {
      $allOperations({ args, query }) {
        n++;
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
  await overview(counting, overviewQuery.parse(undefined));
  return n;
}

export async function runOverviewBench(options: OverviewBenchOptions): Promise<string> {
  if (options.postgres) return withScratchPostgres("overview", (url) => overviewBench(options, url));
  return overviewBench(options);
}

async function overviewBench(options: OverviewBenchOptions, databaseUrl?: string): Promise<string> {
  const page = options.page !== false;
  if (page) {
    const build = spawnSync(process.execPath, [path.join(__dirname, "../scripts/ensure-build.mjs")], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (build.status !== 0) throw new Error("the production build failed");
  }
  const bench = await startBenchPanel({
    SERVE_UI: page ? "true" : "false",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  try {
    const prisma = bench.panel.services.prisma;
    const cookie = await bench.user(["release_manager"]);
    const requester = await prisma.user.findFirstOrThrow({ select: { id: true } });
    await seedOverview(prisma, options.services, options.environments, requester.id);
    const queryUrl = `${bench.url}/api/trpc/services.overview`;
    // Warm up: the first render compiles nothing in production, but caches and connections fill.
    for (let i = 0; i < 3; i++) {
      if (page) await timed(`${bench.url}/`, cookie);
      await timed(queryUrl, cookie);
    }
    const totals: number[] = [];
    const html: number[] = [];
    const query: number[] = [];
    let bytes = 0;
    for (let i = 0; i < options.requests; i++) {
      const h = page ? await timed(`${bench.url}/`, cookie) : { ms: 0, bytes: 0 };
      const q = await timed(queryUrl, cookie);
      html.push(h.ms);
      query.push(q.ms);
      totals.push(h.ms + q.ms);
      bytes = q.bytes;
    }
    return benchLine("overview", {
      services: options.services,
      environments: options.environments,
      database: databaseUrl ? "postgres" : "pglite",
      page: page ? "yes" : "no",
      requests: options.requests,
      p50_ms: percentile(totals, 50),
      p95_ms: percentile(totals, 95),
      html_p95_ms: percentile(html, 95),
      query_p50_ms: percentile(query, 50),
      query_p95_ms: percentile(query, 95),
      query_kb: bytes / 1024,
      db_operations: await operations(prisma),
    });
  } finally {
    await bench.close();
  }
}
