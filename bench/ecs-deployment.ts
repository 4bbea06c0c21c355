/**
 * `npm run bench -- ecs-deployment [--bake 60] [--listeners 2] [--speed 20]`: one deployment on the ECS target,
 * driven by the real reconciler over the in-memory AWS of the tests (aws-sdk-client-mock; nothing
 * reaches AWS), with two listeners, two CloudWatch alarms and Application Auto Scaling, and the
 * CloudWatch feed filling the charts. Three steps and a validation window of `bake` seconds each;
 * with CloudWatch's 60 s periods, published 90 s late, that makes a deployment of about 10 minutes.
 * The clock runs `speed` times faster than the wall clock (the passes' own time is multiplied too:
 * too high a speed stretches the deployment).
 *
 * Prints, per phase, the AWS calls made (`BENCH ecs-calls phase=… passes=… calls=Action:n,…`), and
 * what the charts held: when the deployment succeeded and once the last period was in
 * (`BENCH ecs-charts minutes=… points_at_success … lag_s_at_success … periods_after … `).
 */
import { DEFAULT_GATES } from "../server/releases/policy.ts";
import { GetMetricDataCommand, type GetMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import pino from "pino";
import { systemActor } from "../server/audit/actor.ts";
import { migrateDatabase, openDatabase } from "../server/db/open.ts";
import { templateDatabase } from "./panel.ts";
import { createPanelEvents } from "../server/realtime/events.ts";
import { startDeployment } from "../server/releases/commands.ts";
import type { Policy } from "../server/releases/policy.ts";
import { createEcsClients } from "../server/targets/ecs/clients.ts";
import { validateEcsConfig } from "../server/targets/ecs/config.ts";
import { EcsTarget } from "../server/targets/ecs/ecs-target.ts";
import { CloudWatchFeed } from "../server/telemetry/cloudwatch-feed.ts";
import { MetricsPipeline } from "../server/telemetry/samples.ts";
import { ecsReconciler, seedEcsEnvironment } from "../test/helpers/ecs-environment.ts";
import { FakeAws, LISTENER, mockAws, sampleEcsConfigInput } from "../test/helpers/fake-aws.ts";
import { benchLine } from "./stats.ts";

const HTTPS = LISTENER.replace("f2f7dc8efc522ab2", "aa11bb22cc33dd44");

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function runEcsDeploymentBench(options: {
  bakeSeconds: number;
  listeners: number;
  speed: number;
}): Promise<string[]> {
  const SPEED = options.speed;
  const t0 = Date.now();
  const clock = () => new Date(t0 + (Date.now() - t0) * SPEED);
  const listeners = [LISTENER, HTTPS].slice(0, Math.max(1, Math.min(2, options.listeners)));
  const stepSeconds = options.bakeSeconds;
  const policy: Policy = {
    steps: [10, 50, 100],
    bakeSeconds: stepSeconds,
    gates: { ...DEFAULT_GATES, minRequests: 20, errorRate: { marginPp: 1, maxPercent: 1 } },
    validationSeconds: stepSeconds,
    scaleDownDelaySeconds: 60,
    greenReadyTimeoutSeconds: 3600,
    smokeTests: [],
  };
  const raw = sampleEcsConfigInput({
    ...(listeners.length > 1 ? { listenerArn: undefined, listenerArns: listeners } : {}),
    steadyStateTimeoutSeconds: 7200,
    pollIntervalMs: 0,
    alarmNames: ["checkout-latency", "payments-queue-depth"],
  });
  const parsed = validateEcsConfig(raw);
  if (!parsed.ok) throw new Error(parsed.error);

  const db = (await templateDatabase()) ?? (await openDatabase({ kind: "pglite", dataDir: null }));
  await migrateDatabase(db);
  const log = pino({ level: "silent" });
  const fake = new FakeAws(parsed.config, clock);
  const clients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry });
  mockAws(fake, clients);
  // The feed reads the same AWS through clients of its own, so its calls can be told apart.
  const feedClients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry });
  mockAws(fake, feedClients)
    .cw.on(GetMetricDataCommand)
    .callsFake((input: GetMetricDataCommandInput) => {
      const out = fake.getMetricData(input);
      fake.calls.at(-1)!.by = "feed";
      return out;
    });
  const seeded = await seedEcsEnvironment(db.prisma, fake, {
    targetConfig: raw,
    policy,
    versions: ["1.0.0", "1.1.0"],
    listeners,
  });
  const env = { id: seeded.environmentId };
  const r2 = { id: seeded.releases["1.1.0"]! };
  fake.seedScalableTarget("blue", 2, 10);
  fake.setAlarm("checkout-latency", "OK");
  fake.setAlarm("payments-queue-depth", "OK");

  const events = createPanelEvents();
  const { reconciler } = ecsReconciler({ prisma: db.prisma, clients: () => clients, now: clock, events });
  const pipeline = new MetricsPipeline({ prisma: db.prisma, log, events });
  // Every 15 s of the sped-up clock, as in a panel.
  const feedTarget = new EcsTarget({ clients: () => feedClients, now: clock, log });
  const feed = new CloudWatchFeed({
    prisma: db.prisma,
    log,
    ecs: feedTarget,
    record: (s) => pipeline.record(s),
    now: clock,
    intervalMs: Math.round(15_000 / SPEED),
  });
  pipeline.start();
  feed.start();
  reconciler.start();
  try {
    // Fifteen minutes of history before the deployment, as a running environment would have.
    await until(
      async () => (await db.prisma.metricSample.count({ where: { environmentId: env.id } })) > 0,
      "the feed's first periods",
    );
    const startedAt = clock();
    const d = await startDeployment(db.prisma, systemActor(), { releaseId: r2.id, environmentId: env.id });
    reconciler.kick(d.id);
    await until(
      async () =>
        ["succeeded", "rolled_back", "failed"].includes(
          (await db.prisma.deployment.findUniqueOrThrow({ where: { id: d.id } })).status,
        ),
      "the deployment",
      300_000,
    );
    const done = await db.prisma.deployment.findUniqueOrThrow({
      where: { id: d.id },
      include: { events: { orderBy: { seq: "asc" } } },
    });
    if (done.status !== "succeeded")
      throw new Error(`the deployment ${done.status}: ${done.failureReason ?? JSON.stringify(done.rollbackReason)}`);
    const succeededAt = done.finishedAt!;
    await pipeline.flush();
    const during = async () =>
      db.prisma.metricSample.findMany({
        where: {
          environmentId: env.id,
          slot: "green",
          at: { gte: new Date(Math.floor(startedAt.getTime() / 60_000) * 60_000) },
        },
        orderBy: { at: "asc" },
      });
    const atSuccess = await during();
    const newest = atSuccess.at(-1);
    const lagAtSuccess = newest ? (succeededAt.getTime() - (newest.at.getTime() + newest.seconds * 1000)) / 1000 : NaN;
    // Until the period in which it succeeded is in.
    const lastPeriod = Math.floor(succeededAt.getTime() / 60_000) * 60_000;
    await until(async () => {
      await pipeline.flush();
      return (
        (await db.prisma.metricSample.count({ where: { environmentId: env.id, at: { gte: new Date(lastPeriod) } } })) >
        0
      );
    }, "the last period");
    const complete = clock();
    const after = await during();

    // Calls per phase, by the timeline's boundaries.
    const boundaries: { at: number; phase: string }[] = [];
    let step = 0;
    for (const e of done.events) {
      if (e.kind === "phase" && /smoke tests before any traffic/.test(e.message))
        boundaries.push({ at: e.at.getTime(), phase: "smoke_before_traffic" });
      else if (e.kind === "smoke_passed" && step === 0)
        boundaries.push({ at: e.at.getTime(), phase: `step_${++step}_shift` });
      else if (e.kind === "step") boundaries.push({ at: e.at.getTime(), phase: `step_${step}_bake` });
      else if (e.kind === "step_passed")
        boundaries.push({
          at: e.at.getTime(),
          phase: step < policy.steps.length ? `step_${++step}_shift` : "validate",
        });
      else if (e.kind === "succeeded") boundaries.push({ at: e.at.getTime(), phase: "after_success" });
    }
    const phaseOf = (at: number) => [...boundaries].reverse().find((b) => b.at <= at)?.phase ?? "deploy_green";
    const byPhase = new Map<string, Map<string, number>>();
    for (const call of fake.calls) {
      if (call.at.getTime() < startedAt.getTime() || call.by === "feed") continue;
      const phase = phaseOf(call.at.getTime());
      const counts = byPhase.get(phase) ?? new Map<string, number>();
      counts.set(call.action.split(":")[1]!, (counts.get(call.action.split(":")[1]!) ?? 0) + 1);
      byPhase.set(phase, counts);
    }
    const order = [
      "deploy_green",
      "smoke_before_traffic",
      ...policy.steps.flatMap((_, i) => [`step_${i + 1}_shift`, `step_${i + 1}_bake`]),
      "validate",
      "after_success",
    ];
    const lines = order
      .filter((phase) => byPhase.has(phase))
      .map((phase) => {
        const counts = byPhase.get(phase)!;
        return `BENCH ecs-calls listeners=${listeners.length} phase=${phase} passes=${counts.get("DescribeServices") ?? 0} calls=${[...counts].map(([a, n]) => `${a}:${n}`).join(",")}`;
      });
    const feedCalls = fake.calls.filter((c) => c.by === "feed" && c.at >= startedAt && c.at <= succeededAt).length;
    lines.push(
      benchLine("ecs-charts", {
        minutes: Math.round(((succeededAt.getTime() - startedAt.getTime()) / 60_000) * 10) / 10,
        period_s: parsed.config.metricsPeriodSeconds,
        points_at_success: atSuccess.length,
        lag_s_at_success: Math.round(lagAtSuccess),
        points_after: after.length,
        last_period_in_s_after_success: Math.round((complete.getTime() - succeededAt.getTime()) / 1000),
        green_requests_charted: after.reduce((n, r) => n + r.requests, 0),
        feed_get_metric_data: feedCalls,
      }),
    );
    return lines;
  } finally {
    await reconciler.stop();
    await feed.stop();
    await pipeline.stop();
    await db.close();
  }
}
