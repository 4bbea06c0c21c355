/**
 * Traffic before anything is live (issue 12 §3): it reaches a slot with no release on it, which has
 * nothing to measure. The real metrics pipeline and database: such samples are kept, marked vacant,
 * and raise no alert and count for no availability; once a release is live they count again.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPanelEvents, type PanelEvents } from "../../server/realtime/events.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import { availability } from "../../server/releases/queries.ts";
import { MetricsPipeline } from "../../server/telemetry/samples.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
let pipeline: MetricsPipeline;
let environmentId: string;
let releaseId: string;
const pushed: { slots: Record<string, { vacant: boolean }> }[] = [];
const events: PanelEvents = {
  ...createPanelEvents(),
  emit: (_room, event, payload) => void (event === "metrics" && pushed.push(payload as (typeof pushed)[number])),
};

beforeAll(async () => {
  db = await openTestDatabase();
  const service = await db.prisma.service.create({ data: { slug: "early", name: "Early" } });
  releaseId = (
    await db.prisma.release.create({ data: { serviceId: service.id, version: "1.0.0", artifact: "demo:1.0.0" } })
  ).id;
  const env = await db.prisma.environment.create({
    data: {
      serviceId: service.id,
      name: "development",
      position: 0,
      policy: defaultPolicy(false),
      alertThresholds: DEFAULT_ALERT_THRESHOLDS,
      liveSlot: "blue",
    },
  });
  environmentId = env.id;
  // Read the environment for every sample, so the test sees the release go live at once.
  pipeline = new MetricsPipeline({ prisma: db.prisma, log: pino({ level: "silent" }), events, environmentCacheMs: 0 });
});

afterAll(() => db?.close());

/** `count` seconds from `start` in which every request to blue fails (nothing answers there). */
async function failingSeconds(start: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    pipeline.record({
      environmentId,
      at: new Date(start + i * 1000),
      slots: {
        blue: { requests: 10, errors: 10, p50: 1, p95: 2, p99: 3 },
        green: { requests: 0, errors: 0, p50: null, p95: null, p99: null },
      },
      weights: { blue: 100, green: 0 },
    });
  }
  await pipeline.flush();
}

describe("traffic before anything is live", () => {
  it("is kept as vacant samples, raises no alert and counts for no availability", async () => {
    const start = Date.now() - 120_000;
    await failingSeconds(start, 40);
    const rows = await db.prisma.metricSample.findMany({ where: { environmentId } });
    expect(rows).toHaveLength(80);
    expect(rows.every((r) => r.vacant)).toBe(true);
    expect(pushed.at(-1)!.slots.blue!.vacant).toBe(true);
    expect(await db.prisma.alert.count({ where: { environmentId } })).toBe(0);
    expect(await availability(db.prisma, environmentId)).toMatchObject({ percent: null, trafficSeconds: 0 });
    // Rolled-up minutes leave them out too.
    await pipeline.rollUp(new Date(start + 10 * 60_000));
    expect(await availability(db.prisma, environmentId)).toMatchObject({ percent: null, trafficSeconds: 0 });
  });

  it("counts again once a release is live on the slot: the same failures alert and cost availability", async () => {
    await db.prisma.environment.update({ where: { id: environmentId }, data: { liveReleaseId: releaseId } });
    await failingSeconds(Date.now() - 40_000, 30);
    expect(await db.prisma.alert.count({ where: { environmentId, metric: "error_rate" } })).toBe(1);
    expect((await availability(db.prisma, environmentId)).percent).toBe(0);
  });
});
