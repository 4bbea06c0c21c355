/**
 * `npm run bench -- ecs-silent [--deadline 30]`: how long a deployment pass takes to fail when the
 * AWS endpoint accepts connections and never answers, with the ECS target's default settings (the
 * example configuration of docs/ecs.md: 5 attempts, 10 s request timeout) and the given pass
 * deadline (`RECONCILER_PASS_DEADLINE`, 30 s by default). A real panel, a real TCP server on
 * 127.0.0.1 as AWS (AWS_ENDPOINT_URL), a deployment started through the API; the clock runs from
 * the start command to the first and second "Retrying after an error" the deployment shows.
 * Prints `BENCH ecs-silent deadline_s first_failure_ms second_failure_ms connections message="…"`.
 */
import { EXAMPLE_ECS_CONFIG } from "../server/targets/ecs/config.ts";
import { startSilentServer } from "../test/helpers/silent-server.ts";
import { panelClient } from "../test/helpers/panel-client.ts";
import { startBenchPanel } from "./panel.ts";
import { benchLine } from "./stats.ts";

export async function runEcsSilentBench(options: { deadlineSeconds: number }): Promise<string> {
  const silent = await startSilentServer();
  // The SDK reads these itself: every ECS-target client talks to the silent server, with static keys.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: silent.url,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    AWS_EC2_METADATA_DISABLED: "true",
  });
  const bench = await startBenchPanel({ RECONCILER_PASS_DEADLINE: String(options.deadlineSeconds) });
  try {
    const admin = panelClient(bench.url, await bench.user(["admin", "release_manager"]));
    const service = await admin.services.create.mutate({ name: "Silent AWS bench", environments: ["staging"] });
    const env = await bench.panel.services.prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } });
    await admin.targets.configure.mutate({ environmentId: env.id, config: EXAMPLE_ECS_CONFIG });
    const release = await admin.releases.create.mutate({
      serviceId: service.id,
      version: "1.0.0",
      artifact: "example.com/app:1.0.0",
    });
    const started = Date.now();
    const d = await admin.deployments.start.mutate({ releaseId: release.id, environmentId: env.id });
    const failures: { ms: number; detail: string }[] = [];
    const limit = started + options.deadlineSeconds * 1000 * 4 + 30_000;
    while (failures.length < 2) {
      if (Date.now() > limit) throw new Error(`no failed pass within ${limit - started} ms`);
      const detail = await admin.deployments.get.query({ id: d.id });
      const match = /^Retrying after an error \((\d+)\//.exec(detail.statusDetail ?? "");
      if (match && Number(match[1]) === failures.length + 1)
        failures.push({ ms: Date.now() - started, detail: detail.statusDetail! });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const message = failures[0]!.detail
      .replace(/^Retrying after an error \(\d+\/\d+\): /, "")
      .replace(/127\.0\.0\.1:\d+/, "127.0.0.1:PORT");
    return benchLine("ecs-silent", {
      deadline_s: options.deadlineSeconds,
      first_failure_ms: failures[0]!.ms,
      second_failure_ms: failures[1]!.ms,
      connections: silent.connections(),
      message: JSON.stringify(message),
    });
  } finally {
    await bench.close();
    await silent.close();
  }
}
