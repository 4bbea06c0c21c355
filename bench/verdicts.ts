/**
 * `npm run bench -- verdicts`: do good releases stay and bad ones go, and how fast? Real deployments
 * on the local target (real processes, the data plane's proxy and traffic generator) at 200 and at
 * 20 requests per second, while the panel is kept busy from another process (1,000 signed-in Socket.io
 * clients on the environments' rooms, and a loop requesting the deployment page).
 *
 * Scenarios (the live release fails 0.2 % of its requests, with 20 ms of latency jitter):
 *   healthy             the new release is just as good                          ≥ 50 runs per rule
 *   errors_50pct        it fails half its requests                              ≥ 20 runs per rule
 *   errors_plus_2pp     it fails 2 percentage points more often (2.2 %)          ≥ 20 runs per rule
 *   latency_plus_300ms  it answers 300 ms later                                  ≥ 20 runs per rule
 *
 * Every scenario runs with both rules on the same traffic (same release settings, same generator,
 * same steps and bakes, alternating run by run in the same bench run): the judge, with its defaults,
 * and the threshold rule the panel used before it (bench/threshold-rule.ts), with its defaults then
 * (margin 0.1 pp, ceiling 0.5 %, p95 500 ms, 20 requests). Each prints:
 *
 *   BENCH verdicts scenario=… rps=… rule=judge|threshold runs=N false_rollbacks=N missed=N
 *         detect_p50_ms=… detect_p95_ms=… blast_p95_requests=…
 *
 * false_rollbacks: healthy runs rolled back. missed: bad runs that were not rolled back before 100 %.
 * detect: for error scenarios the deployment's "onset to rollback" figure (its first failed request
 * to 100 % on the live slot); for latency, its first traffic to 100 % on the live slot. blast: for
 * error scenarios the failed requests the release served before the rollback ("blast radius"); for
 * latency, every (slow) request it served.
 *
 * Options: --rps 200,20  --healthy-runs 50  --bad-runs 20  --scenarios a,b  --clients 1000  --no-ui
 *          --lanes-200 4  --lanes-20 25  (deployments at once per rate)  --bake <s> (instead of 10 s at 200 rps, 100 s at 20)
 */
import { fork, spawnSync } from "node:child_process";
import path from "node:path";
import { readPolicy, DEFAULT_GATES, type Policy } from "../server/releases/policy.ts";
import type { GateRule } from "../server/releases/judge/judge.ts";
import { judge } from "../server/releases/judge/judge.ts";
import { panelClient } from "../test/helpers/panel-client.ts";
import { startBenchPanel } from "./panel.ts";
import { benchLine, percentile } from "./stats.ts";
import { thresholdRule } from "./threshold-rule.ts";

type Rule = "judge" | "threshold";
type ScenarioName = "healthy" | "errors_50pct" | "errors_plus_2pp" | "latency_plus_300ms";

const LIVE_SETTINGS = { failureRate: 0.002, latencyJitterMs: 20 };
const SCENARIOS: Record<ScenarioName, { settings: Record<string, number>; bad: false | "errors" | "latency" }> = {
  healthy: { settings: LIVE_SETTINGS, bad: false },
  errors_50pct: { settings: { ...LIVE_SETTINGS, failureRate: 0.5 }, bad: "errors" },
  errors_plus_2pp: { settings: { ...LIVE_SETTINGS, failureRate: 0.022 }, bad: "errors" },
  latency_plus_300ms: { settings: { ...LIVE_SETTINGS, latencyMs: 300 }, bad: "latency" },
};

/** The gates each rule runs with: the judge's defaults, and the threshold rule's defaults before the judge. */
const GATES: Record<Rule, Policy["gates"]> = {
  judge: { ...DEFAULT_GATES },
  threshold: {
    ...DEFAULT_GATES,
    minRequests: 20,
    errorRate: { marginPp: 0.1, maxPercent: 0.5 },
    latency: { ...DEFAULT_GATES.latency, maxP95Ms: 500 },
  },
};
const RULES: Record<Rule, GateRule> = { judge, threshold: thresholdRule };

/** Lanes whose live release starts at once before measuring (the 200 rps phase starts 4 without trouble). */
const WARM_UP_LANES_AT_ONCE = 4;

/** Bakes long enough for +2 pp to be knowable before 100 %: the new slot serves ~1,200 requests in steps 1 and 2. */
const bakeSeconds = (rps: number) => (rps >= 100 ? 10 : 100);

export interface VerdictsOptions {
  rps: number[];
  healthyRuns: number;
  badRuns: number;
  scenarios: ScenarioName[];
  clients: number;
  ui: boolean;
  lanes: Record<number, number>;
  /** The local data plane's traffic guard (on unless the option says otherwise). */
  guard?: boolean;
  /** Bake per step in seconds, instead of the rate's own (the suite's smoke run uses 1). */
  bake?: number;
}

interface RunResult {
  rule: Rule;
  status: string;
  caughtBefore100: boolean;
  detectMs: number | null;
  blast: number | null;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function runVerdictsBench(options: VerdictsOptions): Promise<string[]> {
  if (options.ui) {
    const build = spawnSync(process.execPath, [path.join(__dirname, "../scripts/ensure-build.mjs")], {
      stdio: "inherit",
    });
    if (build.status !== 0) throw new Error("the production build failed");
  }
  const ruleOf = new Map<string, Rule>();
  const bench = await startBenchPanel(
    { SERVE_UI: options.ui ? "true" : "false", TRAFFIC_GUARD: options.guard === false ? "false" : "true" },
    { gateRule: (gates, input) => RULES[ruleOf.get(input.environmentId ?? "") ?? "judge"](gates, input) },
  );
  const prisma = bench.panel.services.prisma;
  const lines: string[] = [];
  let versions = 0;
  try {
    const rm = panelClient(bench.url, await bench.user(["release_manager"]));
    const viewer = await bench.user(["viewer", "release_manager"]);
    for (const rps of options.rps) {
      const laneCount = options.lanes[rps] ?? (rps >= 100 ? 4 : 25);
      const bake = options.bake ?? bakeSeconds(rps);
      const policy = (rule: Rule): Policy => ({
        ...readPolicy({}, false),
        steps: [10, 50, 100],
        bakeSeconds: bake,
        validationSeconds: Math.min(5, bake),
        scaleDownDelaySeconds: 0,
        greenReadyTimeoutSeconds: 60,
        smokeTests: [],
        gates: GATES[rule],
      });
      // Lanes: one service each, live on a healthy release, traffic at `rps`.
      const lanes: { serviceId: string; environmentId: string }[] = [];
      for (let i = 0; i < laneCount; i++) {
        const service = await rm.services.create.mutate({
          name: `Verdicts ${rps} rps ${i + 1}`,
          environments: ["staging"],
        });
        const environment = await prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } });
        await rm.environments.updatePolicy.mutate({ environmentId: environment.id, policy: policy("judge") });
        await rm.environments.setTrafficGenerator.mutate({ environmentId: environment.id, enabled: true, rate: rps });
        lanes.push({ serviceId: service.id, environmentId: environment.id });
      }
      // Every lane gets a live release before anything is measured, a few lanes at a time. All 25 at
      // once started 50 processes together on 2 cores: the slots answered at p95 0.6–1.4 s for minutes,
      // the p95 ceiling rolled the first releases back (rightly: nothing live to compare with), and
      // every later "healthy" run was a first release on an overloaded machine, measuring nothing.
      for (let i = 0; i < lanes.length; i += WARM_UP_LANES_AT_ONCE)
        await Promise.all(lanes.slice(i, i + WARM_UP_LANES_AT_ONCE).map((lane) => goLive(lane)));

      const load = await startLoad(
        bench.url,
        viewer,
        options.clients,
        lanes.map((l) => l.environmentId),
      );
      try {
        for (const name of options.scenarios) {
          const scenario = SCENARIOS[name];
          const runs = scenario.bad ? options.badRuns : options.healthyRuns;
          // Alternate the rules run by run, so both see the same conditions.
          const queue: Rule[] = Array.from({ length: runs * 2 }, (_, i) => (i % 2 === 0 ? "judge" : "threshold"));
          const results: RunResult[] = [];
          // Lanes start their first run one after another, spread over one bake: 25 releases started
          // together at 20 rps put 25 new processes on 2 cores at once, and every one answered its first
          // step at p95 0.7–2.9 s (the machine's, not the release's). Later runs stay spread.
          const staggerMs = (bake * 1000) / lanes.length;
          await Promise.all(
            lanes.map(async (lane, index) => {
              await new Promise((resolve) => setTimeout(resolve, index * staggerMs));
              for (let rule = queue.shift(); rule; rule = queue.shift()) results.push(await run(lane, name, rule));
            }),
          );
          for (const rule of ["judge", "threshold"] as const) {
            const mine = results.filter((r) => r.rule === rule);
            const caught = mine.filter((r) => r.caughtBefore100);
            const detect = caught.map((r) => r.detectMs).filter((v): v is number => v !== null);
            const blast = caught.map((r) => r.blast).filter((v): v is number => v !== null);
            const line = benchLine("verdicts", {
              scenario: name,
              rps,
              rule,
              runs: mine.length,
              false_rollbacks: scenario.bad ? 0 : mine.filter((r) => r.status !== "succeeded").length,
              missed: scenario.bad ? mine.length - caught.length : 0,
              detect_p50_ms: detect.length ? percentile(detect, 50) : "na",
              detect_p95_ms: detect.length ? percentile(detect, 95) : "na",
              blast_p95_requests: blast.length ? percentile(blast, 95) : "na",
            });
            lines.push(line);
            console.error(line);
          }
        }
      } finally {
        const done = await load.stop();
        lines.push(
          benchLine("verdicts", {
            load: "panel",
            rps,
            clients: options.clients,
            pages: done.pages,
            page_errors: done.pageErrors,
            socket_events: done.events,
          }),
        );
      }
      for (const lane of lanes)
        await rm.environments.setTrafficGenerator.mutate({
          environmentId: lane.environmentId,
          enabled: false,
          rate: rps,
        });

      async function deploy(
        lane: { serviceId: string; environmentId: string },
        settings: Record<string, number>,
        rule: Rule,
        page?: (id: string) => void,
      ) {
        ruleOf.set(lane.environmentId, rule);
        await rm.environments.updatePolicy.mutate({ environmentId: lane.environmentId, policy: policy(rule) });
        const version = `v${++versions}`;
        const release = await rm.releases.create.mutate({
          serviceId: lane.serviceId,
          version,
          artifact: `demo:${version}`,
          settings,
        });
        const started = await rm.deployments.start.mutate({ releaseId: release.id, environmentId: lane.environmentId });
        page?.(started.id);
        return until(
          `deployment ${started.id}`,
          async () => {
            const d = await prisma.deployment.findUniqueOrThrow({ where: { id: started.id } });
            return ["succeeded", "rolled_back", "failed", "aborted"].includes(d.status) ? d : undefined;
          },
          (4 * bake + 120) * 1000,
        );
      }

      /** The lane's live release, tried up to three times; the benchmark stops if a lane cannot get one. */
      async function goLive(lane: { serviceId: string; environmentId: string }): Promise<void> {
        for (let attempt = 1; ; attempt++) {
          const d = await deploy(lane, LIVE_SETTINGS, "judge");
          if (d.status === "succeeded") return;
          console.error(`verdicts: lane ${lane.environmentId}'s live release ended ${d.status} (attempt ${attempt})`);
          if (attempt === 3) throw new Error(`lane ${lane.environmentId} could not get a live release in 3 attempts`);
        }
      }

      async function run(
        lane: { serviceId: string; environmentId: string },
        name: ScenarioName,
        rule: Rule,
      ): Promise<RunResult> {
        const scenario = SCENARIOS[name];
        const d = await deploy(lane, scenario.settings, rule, (id) =>
          load.page(options.ui ? `/deployments/${id}` : deploymentQuery(id)),
        );
        const reason = d.rollbackReason as { kind?: string; weight?: number; detail?: string } | null;
        // A healthy release rolled back is the figure that matters most: say why, every time.
        if (!scenario.bad && d.status !== "succeeded")
          console.error(
            `verdicts: healthy ${rule} run ${d.id} ended ${d.status}: ${JSON.stringify(d.rollbackReason ?? d.failureReason)}`,
          );
        const caughtBefore100 = d.status === "rolled_back" && reason?.kind === "gate" && (reason.weight ?? 100) < 100;
        const figures = d.figures as {
          onsetToRollbackSeconds?: number | null;
          blastRadiusRequests?: number | null;
        } | null;
        let detectMs: number | null = null;
        let blast: number | null = null;
        if (caughtBefore100 && scenario.bad === "errors") {
          detectMs = figures?.onsetToRollbackSeconds == null ? null : figures.onsetToRollbackSeconds * 1000;
          blast = figures?.blastRadiusRequests ?? null;
        }
        if (caughtBefore100 && scenario.bad === "latency" && d.trafficStartedAt && d.rollbackCompletedAt) {
          detectMs = d.rollbackCompletedAt.getTime() - d.trafficStartedAt.getTime();
          const env = await prisma.environment.findUniqueOrThrow({
            where: { id: lane.environmentId },
            include: { service: true },
          });
          const served = await bench.panel.services.targets.local.metrics(
            { id: env.id, serviceSlug: env.service.slug, name: env.name, target: "local", targetConfig: {} },
            { from: d.trafficStartedAt, to: d.rollbackCompletedAt },
          );
          blast = served.slots[d.targetSlot].requests;
        }
        return { rule, status: d.status, caughtBefore100, detectMs, blast };
      }
    }
  } finally {
    await bench.close();
  }
  return lines;
}

/** Without the UI, the deployment page's own query. */
function deploymentQuery(id: string): string {
  return `/api/trpc/deployments.get?input=${encodeURIComponent(JSON.stringify({ json: { id } }))}`;
}

interface Load {
  page(path: string): void;
  stop(): Promise<{ pages: number; pageErrors: number; events: number }>;
}

/** The busy-panel load, in its own process; resolves once every client is connected and subscribed. */
function startLoad(url: string, cookie: string, clients: number, environments: string[]): Promise<Load> {
  const child = fork(path.join(__dirname, "verdicts-load.ts"), [url, cookie, String(clients), environments.join(",")], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the load process exited (${code})`)));
    child.on("message", (message: { type: string; message?: string }) => {
      if (message.type === "error") reject(new Error(message.message));
      if (message.type !== "ready") return;
      resolve({
        page: (p) => child.send({ type: "page", path: p }),
        stop: () =>
          new Promise((done) => {
            child.on(
              "message",
              (m: { type: string; pages: number; pageErrors: number; events: number }) => m.type === "done" && done(m),
            );
            child.send({ type: "stop" });
          }),
      });
    });
  });
}
