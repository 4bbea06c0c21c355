/**
 * `npm run bench -- api [--clients 200] [--deployments 20] [--seconds 30] [--postgres]`: the panel's API under
 * the people who watch deployments. Everything is set up through the public API, as a release
 * manager would: `deployments` services on the local target, each with a deployment held at its
 * first step (a long bake) while the traffic generator feeds the charts. Then `clients` signed-in
 * sessions, each a browser tab on one of those deployment pages with its own Socket.io connection
 * (bench/api-clients.ts, in a process of its own), load and refresh the page's queries for `seconds`.
 * Prints `BENCH api database=… clients=… deployments=… requests=… calls=… p50_ms p95_ms p99_ms errors=…`
 * (goal: p95 < 100 ms). The panel runs on the embedded PGlite database, or with `--postgres` on a
 * scratch database on TEST_DATABASE_URL's server.
 */
import { fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import path from "node:path";
import { DEFAULT_GATES } from "../server/releases/policy.ts";
import { panelClient } from "../test/helpers/panel-client.ts";
import { startBenchPanel } from "./panel.ts";
import { withScratchPostgres } from "./scratch-database.ts";
import { benchLine, percentile } from "./stats.ts";

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Held at the first step: the bake lasts an hour, and the gates are ones the demo service passes. */
const HOLDING_POLICY = {
  steps: [10, 50, 100],
  bakeSeconds: 3600,
  gates: { ...DEFAULT_GATES, minRequests: 10 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 3600,
  greenReadyTimeoutSeconds: 120,
  smokeTests: [],
};

interface ClientResult {
  latencies: number[];
  byRequest: Record<string, number[]>;
  calls: number;
  errors: number;
  errorSamples: string[];
  connected: number;
}

export async function runApiBench(options: {
  clients: number;
  deployments: number;
  seconds: number;
  postgres?: boolean;
}): Promise<string[]> {
  if (options.postgres) return withScratchPostgres("api", (url) => apiBench({ ...options, databaseUrl: url }));
  return apiBench(options);
}

async function apiBench(options: {
  clients: number;
  deployments: number;
  seconds: number;
  databaseUrl?: string;
}): Promise<string[]> {
  const bench = await startBenchPanel(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {});
  try {
    const rm = panelClient(bench.url, await bench.user(["release_manager"]));
    const pages: { deploymentId: string; environmentId: string }[] = [];
    for (let i = 0; i < options.deployments; i++) {
      const service = await rm.services.create.mutate({ name: `API bench ${i + 1}`, environments: ["development"] });
      const detail = await rm.services.get.query({ id: service.id });
      const environmentId = detail.environments[0]!.id;
      await rm.environments.updatePolicy.mutate({ environmentId, policy: HOLDING_POLICY });
      await rm.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 5 });
      const release = await rm.releases.create.mutate({
        serviceId: service.id,
        version: "1.0.0",
        artifact: "demo:1.0.0",
      });
      const deployment = await rm.deployments.start.mutate({ releaseId: release.id, environmentId });
      pages.push({ deploymentId: deployment.id, environmentId });
    }
    // All of them active and holding at their first step.
    for (const page of pages) {
      await until(async () => {
        const d = await rm.deployments.get.query({ id: page.deploymentId });
        if (!["preparing", "deploying_green", "smoke_testing", "shifting"].includes(d.status))
          throw new Error(`deployment ${page.deploymentId} ended ${d.status}`);
        return d.status === "shifting" && d.stepReachedAt ? d : undefined;
      }, `deployment ${page.deploymentId} to reach its first step`);
    }

    // Signed-in sessions: ten per person, as people keep several tabs.
    const cookies: string[] = [];
    for (let i = 0; i < options.clients; i++)
      cookies.push(i % 10 === 0 || cookies.length === 0 ? await bench.user(["viewer"]) : await bench.signInAgain());
    const job = {
      url: bench.url,
      seconds: options.seconds,
      clients: cookies.map((cookie, i) => ({ cookie, ...pages[i % pages.length]! })),
    };
    const child = fork(path.join(__dirname, "api-clients.ts"), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    // The panel's own CPU over the run (this process is the panel): how close it is to a core.
    const cpuBefore = process.cpuUsage();
    // And how long its event loop was held up: a request waits behind whatever runs when it arrives.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const wallBefore = performance.now();
    const result = await new Promise<ClientResult>((resolve, reject) => {
      child.once("message", (message) => resolve(message as ClientResult));
      child.once("exit", (code) => code !== 0 && reject(new Error(`the clients exited with ${code}`)));
      child.send(job);
    });
    const cpu = process.cpuUsage(cpuBefore);
    loopDelay.disable();
    const panelCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100;
    const lines = [
      benchLine("api", {
        database: options.databaseUrl ? "postgres" : "pglite",
        clients: options.clients,
        sockets: result.connected,
        deployments: options.deployments,
        seconds: options.seconds,
        requests: result.latencies.length,
        calls: result.calls,
        p50_ms: percentile(result.latencies, 50),
        p95_ms: percentile(result.latencies, 95),
        p99_ms: percentile(result.latencies, 99),
        errors: result.errors,
        panel_cpu_percent: panelCpuPercent,
        loop_delay_p99_ms: loopDelay.percentile(99) / 1e6,
        loop_delay_max_ms: loopDelay.max / 1e6,
      }),
    ];
    for (const [label, values] of Object.entries(result.byRequest))
      lines.push(
        `api: ${label} requests=${values.length} p50_ms=${percentile(values, 50).toFixed(1)} p95_ms=${percentile(values, 95).toFixed(1)}`,
      );
    for (const sample of result.errorSamples) lines.push(`api: error ${sample}`);
    return lines;
  } finally {
    await bench.close();
  }
}
