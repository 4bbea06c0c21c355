/**
 * `npm run bench -- rollback`: time from a gate breach to all traffic back on the live slot, on the
 * local target (real processes, real proxy, real traffic), over 20 deployments of a failing release.
 * The breach is the moment the reconciler's gate evaluation fails; the end is the moment it observes
 * the proxy at 100% on the live slot. Prints `BENCH rollback runs=20 p50_ms p95_ms max_ms`.
 */
import type { DeploymentFigures } from "../server/releases/figures.ts";
import { DEFAULT_GATES } from "../server/releases/policy.ts";
import { panelClient } from "../test/helpers/panel-client.ts";
import { startBenchPanel } from "./panel.ts";
import { benchLine, percentile } from "./stats.ts";

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
    const rm = panelClient(bench.url, await bench.user(["release_manager"]));
    // Staging: the rollback path is the same in every environment, and production would need a change
    // request approved for each of the 21 releases.
    const service = await rm.services.create.mutate({ name: "Rollback bench", environments: ["staging"] });
    const env = await bench.panel.services.prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } });
    await rm.environments.updatePolicy.mutate({
      environmentId: env.id,
      policy: {
        steps: [10, 50, 100],
        bakeSeconds: 1,
        gates: { ...DEFAULT_GATES, minRequests: 10 },
        validationSeconds: 1,
        scaleDownDelaySeconds: 3600,
        greenReadyTimeoutSeconds: 60,
        smokeTests: [],
      },
    });
    await rm.environments.setTrafficGenerator.mutate({ environmentId: env.id, enabled: true, rate: 200 });
    const deploy = async (version: string, settings: Record<string, unknown>) => {
      const release = await rm.releases.create.mutate({
        serviceId: service.id,
        version,
        artifact: `demo:${version}`,
        settings,
      });
      const d = await rm.deployments.start.mutate({ releaseId: release.id, environmentId: env.id });
      return until(async () => {
        const detail = await rm.deployments.get.query({ id: d.id });
        return ["succeeded", "rolled_back", "failed"].includes(detail.status) ? detail : undefined;
      });
    };
    const live = await deploy("1.0.0", {});
    if (live.status !== "succeeded") throw new Error(`the baseline release did not go live (${live.status})`);
    const times: number[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const result = await deploy(`2.0.${run}-bad`, { failureRate: 0.5 });
      const figures = result.figures as DeploymentFigures | null; // a JSON column
      if (result.status !== "rolled_back" || figures?.breachToRollbackSeconds == null)
        throw new Error(`run ${run} ended ${result.status}`);
      times.push(figures.breachToRollbackSeconds * 1000);
    }
    return benchLine("rollback", {
      runs: times.length,
      p50_ms: percentile(times, 50),
      p95_ms: percentile(times, 95),
      max_ms: Math.max(...times),
    });
  } finally {
    await bench.close();
  }
}
