/**
 * The metrics pipeline reads what it needs of each sampled environment (alert thresholds, name,
 * occupied slots) at most once a second, and all of them in one query: every environment sends a
 * sample a second, and a read per environment per sample was a third of a busy panel's queries.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPanelEvents } from "../../server/realtime/events.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import { MetricsPipeline } from "../../server/telemetry/samples.ts";
import { countingClient, openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";

let db: TestDatabase;
const environmentIds: string[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
  const service = await db.prisma.service.create({ data: { slug: "many", name: "Many" } });
  for (let i = 0; i < 12; i++)
    environmentIds.push(
      (
        await db.prisma.environment.create({
          data: {
            serviceId: service.id,
            name: `env-${i}`,
            position: i,
            policy: defaultPolicy(false),
            alertThresholds: DEFAULT_ALERT_THRESHOLDS,
          },
        })
      ).id,
    );
});

afterAll(() => db?.close());

describe("the metrics pipeline's environment reads", () => {
  it("once its environments are known, a second of samples from all of them costs one read", async () => {
    const counting = countingClient(db.prisma);
    const cacheMs = 1000;
    const pipeline = new MetricsPipeline({
      prisma: counting.client,
      log: pino({ level: "silent" }),
      events: createPanelEvents(),
      environmentCacheMs: cacheMs,
    });
    const second = async (at: number) => {
      for (const environmentId of environmentIds)
        pipeline.record({
          environmentId,
          at: new Date(at),
          slots: {
            blue: { requests: 10, errors: 0, p50: 1, p95: 2, p99: 3 },
            green: { requests: 0, errors: 0, p50: null, p95: null, p99: null },
          },
          weights: { blue: 100, green: 0 },
        });
      await pipeline.flush();
    };
    const reads = () => counting.count("Environment.findMany") + counting.count("Environment.findUnique");
    const start = Date.now() - 60_000;
    await second(start);
    const learned = reads();
    expect(learned).toBeGreaterThan(0);
    // Once the cache is stale, the next second reads every environment again, in one query.
    const staleFrom = Date.now() + cacheMs;
    await waitFor(() => Date.now() > staleFrom, "the cached environments to go stale");
    await second(start + 1000);
    expect(reads() - learned).toBe(1);
    await pipeline.stop();
  });
});
