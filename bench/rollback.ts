/**
 * `npm run bench -- rollback`: time from a gate breach to all traffic back on the live slot, on the
 * local target (real processes, real proxy, real traffic), over 20 deployments of a failing release.
 * The breach is the moment the reconciler's gate evaluation fails; the end is the moment it observes
 * the proxy at 100% on the live slot. Prints `BENCH rollback runs=20 p50_ms p95_ms max_ms`.
 */
import { trpcMutation, trpcQuery } from "../test/helpers/trpc.ts";
import { startBenchPanel } from "./panel.ts";
import { benchLine, percentile } from "./stats.ts";

async function ok<T>(promise: Promise<{ status: number; data?: T; error?: { message: string } }>): Promise<T> {
  const response = await promise;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.error?.message}`);
  return response.data as T;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runRollbackBench(options: { runs: number }): Promise<string> {
  const bench = await startBenchPanel();
  try {
    const rm = await bench.user(["release_manager"]);
    // Staging: the rollback path is the same in every environment, and production would need a change
    // request approved for each of the 21 releases.
    const service = await ok<{ id: string }>(trpcMutation(bench.url, "services.create", { name: "Rollback bench", environments: ["staging"] }, rm));
    const env = await bench.panel.services.prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } });
    await ok(
      trpcMutation(
        bench.url,
        "environments.updatePolicy",
        {
          environmentId: env.id,
          policy: {
            steps: [10, 50, 100],
            bakeSeconds: 1,
            gates: { maxErrorRateIncreasePp: 0.1, maxErrorRatePercent: 0.5, maxP95Ms: 500, minRequests: 10 },
            validationSeconds: 1,
            scaleDownDelaySeconds: 3600,
            greenReadyTimeoutSeconds: 60,
            smokeTests: [],
          },
        },
        rm,
      ),
    );
    await ok(trpcMutation(bench.url, "environments.setTrafficGenerator", { environmentId: env.id, enabled: true, rate: 200 }, rm));
    const deploy = async (version: string, settings: Record<string, unknown>) => {
      const release = await ok<{ id: string }>(trpcMutation(bench.url, "releases.create", { serviceId: service.id, version, artifact: `demo:${version}`, settings }, rm));
      const d = await ok<{ id: string }>(trpcMutation(bench.url, "deployments.start", { releaseId: release.id, environmentId: env.id }, rm));
      return until(async () => {
        const detail = await ok<{ status: string; figures: { breachToRollbackSeconds: number | null } | null }>(trpcQuery(bench.url, "deployments.get", { id: d.id }, rm));
        return ["succeeded", "rolled_back", "failed"].includes(detail.status) ? detail : undefined;
      });
    };
    const live = await deploy("1.0.0", {});
    if (live.status !== "succeeded") throw new Error(`the baseline release did not go live (${live.status})`);
    const times: number[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const result = await deploy(`2.0.${run}-bad`, { failureRate: 0.5 });
      if (result.status !== "rolled_back" || result.figures?.breachToRollbackSeconds == null) throw new Error(`run ${run} ended ${result.status}`);
      times.push(result.figures.breachToRollbackSeconds * 1000);
    }
    return benchLine("rollback", { runs: times.length, p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), max_ms: Math.max(...times) });
  } finally {
    await bench.close();
  }
}
