/**
 * The charts, availability and alerts of an ECS environment, fed from CloudWatch (the fake AWS
 * behind aws-sdk-client-mock; nothing reaches AWS) through the real metrics pipeline and database:
 * one sample per slot and CloudWatch period, marked with its length; recorded once, only once
 * complete; availability minutes weighed by the period; alerts on the same feed.
 *
 * The feed, the fake and the pipeline share a clock that runs 240× faster than the wall clock.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "../../server/db/generated/client.ts";
import { createPanelEvents, type PanelEvents } from "../../server/realtime/events.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import { availability, metricSeries } from "../../server/releases/queries.ts";
import { createEcsClients } from "../../server/targets/ecs/clients.ts";
import { validateEcsConfig } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import { CloudWatchFeed } from "../../server/telemetry/cloudwatch-feed.ts";
import { MetricsPipeline } from "../../server/telemetry/samples.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { ecsImage, seedEcsEnvironment } from "../helpers/ecs-environment.ts";
import {
  FakeAws,
  LISTENER,
  mockAws,
  sampleEcsConfigInput,
  sampleTaskDefinition,
  TG_BLUE,
  TG_GREEN,
} from "../helpers/fake-aws.ts";
import { logCapture } from "../helpers/panel.ts";
import { waitFor } from "../helpers/wait.ts";

const IMAGE = ecsImage("1.0.0");
// The feed's clock: set by each test (CloudWatch periods are minutes).
let now = new Date("2026-12-01T12:00:30Z");
const clock = () => now;

let db: TestDatabase;
let fake: FakeAws;
let feed: CloudWatchFeed;
let pipeline: MetricsPipeline;
let environmentId: string;
const emitted: { at: string; seconds: number }[] = [];
// What the environment's room would be sent.
const events: PanelEvents = {
  ...createPanelEvents(),
  emit: (_room, event, payload) =>
    void (event === "metrics" && emitted.push(payload as { at: string; seconds: number })),
};

beforeAll(async () => {
  db = await openTestDatabase();
  const raw = sampleEcsConfigInput({ pollIntervalMs: 0 });
  const parsed = validateEcsConfig(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  fake = new FakeAws(parsed.config, clock);
  const clients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry });
  mockAws(fake, clients);
  ({ environmentId } = await seedEcsEnvironment(db.prisma, fake, {
    targetConfig: raw,
    policy: defaultPolicy(true),
    versions: ["1.0.0"],
    production: true,
  }));
  const log = pino({ level: "silent" });
  pipeline = new MetricsPipeline({ prisma: db.prisma, log, events });
  feed = new CloudWatchFeed({
    prisma: db.prisma,
    log,
    ecs: new EcsTarget({ clients: () => clients, now: clock }),
    record: (s) => pipeline.record(s),
    now: clock,
  });
});

afterAll(() => db?.close());

const samples = () =>
  db.prisma.metricSample.findMany({ where: { environmentId }, orderBy: [{ at: "asc" }, { slot: "asc" }] });
const ref = async () => {
  const env = await db.prisma.environment.findUniqueOrThrow({
    where: { id: environmentId },
    include: { service: true },
  });
  return {
    id: env.id,
    serviceSlug: env.service.slug,
    name: env.name,
    target: env.target,
    targetConfig: env.targetConfig,
  };
};

describe("the CloudWatch feed of an ECS environment", () => {
  it("records every complete period of the last 15 minutes as one sample per slot, 60 s long", async () => {
    now = new Date("2026-12-01T12:20:30Z");
    // From the period 15 minutes back (12:05) to the newest complete one: a period is complete
    // metricsDelaySeconds (90) after its end, so 12:18 (12:18:00–12:19:00) at 12:20:30.
    expect(await feed.pollEnvironment(await ref(), "blue")).toBe(14);
    await pipeline.flush();
    const rows = await samples();
    expect(rows).toHaveLength(28);
    expect(rows[0]).toMatchObject({
      at: new Date("2026-12-01T12:05:00Z"),
      slot: "blue",
      seconds: 60,
      requests: 600,
      errors: 0,
      weight: 100,
      p95: 80,
    });
    expect(rows.at(-1)).toMatchObject({
      at: new Date("2026-12-01T12:18:00Z"),
      slot: "green",
      seconds: 60,
      requests: 0,
      weight: 0,
    });
    // Pushed live too, each saying how long it covers.
    expect(emitted.at(-1)).toMatchObject({ at: "2026-12-01T12:18:00.000Z", seconds: 60 });
  });

  it("records each new period once, and none before it is complete", async () => {
    now = new Date("2026-12-01T12:20:59Z");
    expect(await feed.pollEnvironment(await ref(), "blue")).toBe(0);
    now = new Date("2026-12-01T12:21:31Z");
    expect(await feed.pollEnvironment(await ref(), "blue")).toBe(1);
    await pipeline.flush();
    expect((await samples()).filter((r) => r.at.getTime() === Date.parse("2026-12-01T12:19:00Z"))).toHaveLength(2);
    expect(await samples()).toHaveLength(30);
  });

  it("serves the charts the periods with their length, and the split as the load balancer served it", async () => {
    now = new Date("2026-12-01T12:21:40Z");
    fake.modifyListener({
      ListenerArn: LISTENER,
      DefaultActions: [
        {
          Type: "forward",
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: TG_BLUE, Weight: 90 },
              { TargetGroupArn: TG_GREEN, Weight: 10 },
            ],
          },
        },
      ],
    });
    now = new Date("2026-12-01T12:23:31Z");
    expect(await feed.pollEnvironment(await ref(), "blue")).toBe(2);
    await pipeline.flush();
    const series = await metricSeries(db.prisma, { environmentId, minutes: 15 }, now);
    const at = (iso: string) => series.points.filter((p) => p.at === iso).sort((a, b) => a.slot.localeCompare(b.slot));
    expect(at("2026-12-01T12:21:00.000Z").map((p) => [p.slot, p.seconds, p.requests, p.weight])).toEqual([
      ["blue", 60, 540, 90],
      ["green", 60, 60, 10],
    ]);
  });

  it("counts availability by the period's length, and alerts on the same feed", async () => {
    // Blue's image starts failing a fifth of its requests.
    fake.behave(IMAGE, { errorRate: 0.2, p95Ms: 80 });
    now = new Date("2026-12-01T12:24:31Z");
    expect(await feed.pollEnvironment(await ref(), "blue")).toBe(1);
    await pipeline.flush();
    const alert = await waitFor(
      () => db.prisma.alert.findFirst({ where: { environmentId, resolvedAt: null } }),
      "an alert",
    );
    expect(alert).toMatchObject({ metric: "error_rate", value: 20, threshold: 5 });
    expect(alert.message).toBe("Checkout production: error rate 20% over the last 60 s is above 5%");

    await pipeline.rollUp(new Date("2026-12-01T12:30:00Z"));
    const minutes = await db.prisma.availabilityMinute.findMany({ where: { environmentId }, orderBy: { at: "asc" } });
    expect(minutes.at(-1)).toMatchObject({ at: new Date("2026-12-01T12:22:00Z"), trafficSeconds: 60, okSeconds: 60 });
    const a = await availability(db.prisma, environmentId, new Date("2026-12-01T12:30:00Z"));
    // 18 minutes of traffic (12:05 to 12:22), every one of them with successes.
    expect(a).toMatchObject({ trafficSeconds: 18 * 60, percent: 100 });
  });

  it("charts an environment whose service publishes high-resolution metrics of its own at their 10 s period, within seconds", async () => {
    const raw = sampleEcsConfigInput({
      highResolutionMetrics: { namespace: "Checkout", dimensions: [{ name: "Service", value: "checkout" }] },
    });
    const parsed = validateEcsConfig(raw);
    if (!parsed.ok) throw new Error(parsed.error);
    const hrFake = new FakeAws(parsed.config, clock);
    const clients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry });
    mockAws(hrFake, clients);
    const td = hrFake.seedTaskDefinition(sampleTaskDefinition("checkout", IMAGE));
    hrFake.seedService("blue", td, 2);
    hrFake.seedService("green", td, 0);
    hrFake.seedRoute(LISTENER, { blue: 100, green: 0 });
    const service = await db.prisma.service.create({ data: { slug: "search", name: "Search" } });
    const env = await db.prisma.environment.create({
      data: {
        serviceId: service.id,
        name: "production",
        position: 0,
        target: "ecs",
        targetConfig: raw as Prisma.InputJsonValue,
        policy: defaultPolicy(true),
        alertThresholds: DEFAULT_ALERT_THRESHOLDS,
      },
    });
    const hrFeed = new CloudWatchFeed({
      prisma: db.prisma,
      log: pino({ level: "silent" }),
      ecs: new EcsTarget({ clients: () => clients, now: clock }),
      record: (sample) => pipeline.record(sample),
      now: clock,
    });
    now = new Date("2026-12-01T13:00:05Z");
    const ref = { id: env.id, serviceSlug: "search", name: "production", target: "ecs" as const, targetConfig: raw };
    const recorded = await hrFeed.pollEnvironment(ref, "blue");
    await pipeline.flush();
    // From 12:45:00 (15 minutes back) to the newest period that ended at least 20 s ago (12:59:30–12:59:40).
    expect(recorded).toBe(88);
    const query = hrFake.calls.find((c) => c.action === "cloudwatch:GetMetricData")!.input as {
      MetricDataQueries: { Id: string; MetricStat: unknown }[];
    };
    expect(query.MetricDataQueries.find((q) => q.Id === "pp95_green")!.MetricStat).toEqual({
      Metric: {
        Namespace: "Checkout",
        MetricName: "Latency",
        Dimensions: [
          { Name: "Service", Value: "checkout" },
          { Name: "Slot", Value: "green" },
        ],
      },
      Period: 10,
      Stat: "p95",
    });
    const series = await metricSeries(db.prisma, { environmentId: env.id, minutes: 15 }, now);
    const last = series.points.filter((p) => p.slot === "blue").at(-1)!;
    expect(last).toMatchObject({ at: "2026-12-01T12:59:30.000Z", seconds: 10, requests: 100, p95: 80 });
  });
});

describe("a round that cannot read the database", () => {
  it("is logged and tried again at the next tick, never left as an unhandled rejection (it ended the panel)", async () => {
    const closed = await openTestDatabase();
    await closed.close();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const capture = logCapture();
    const parsed = validateEcsConfig(sampleEcsConfigInput());
    if (!parsed.ok) throw new Error(parsed.error);
    // Behind the fake like every client here, though a round that cannot list the environments calls nothing.
    const clients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry });
    mockAws(new FakeAws(parsed.config, clock), clients);
    const downFeed = new CloudWatchFeed({
      prisma: closed.prisma,
      log: pino({ level: "warn" }, capture.stream),
      ecs: new EcsTarget({ clients: () => clients, now: clock }),
      record: () => {},
      intervalMs: 20,
      now: clock,
    });
    try {
      downFeed.start();
      // Two rounds: the one started at once, and one of the timer's.
      await waitFor(
        () => capture.lines.filter((line) => line.includes('"cloudwatch_feed.round_failed"')).length >= 2 || undefined,
        "two failed rounds logged",
      );
      await downFeed.stop();
      // A rejection nobody handled is reported after the microtasks of its turn: let one full turn pass.
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await downFeed.stop();
    }
  });
});
