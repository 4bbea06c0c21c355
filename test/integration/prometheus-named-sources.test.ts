/**
 * Which environments name a Prometheus is read for all of them at most once a second, not on every
 * look of every baking deployment; a change made through this panel is seen at once.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import { PrometheusSource } from "../../server/targets/prometheus/source.ts";
import { countingClient, openTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
const ids: string[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
  const service = await db.prisma.service.create({ data: { slug: "named", name: "Named" } });
  for (const name of ["staging", "production"])
    ids.push(
      (
        await db.prisma.environment.create({
          data: {
            serviceId: service.id,
            name,
            position: ids.length,
            policy: defaultPolicy(false),
            alertThresholds: DEFAULT_ALERT_THRESHOLDS,
          },
        })
      ).id,
    );
});

afterAll(() => db?.close());

describe("the environments that name a Prometheus", () => {
  it("are read once for many looks, and afresh once this panel changes one", async () => {
    const counting = countingClient(db.prisma);
    const source = new PrometheusSource({ prisma: counting.client, log: pino({ level: "silent" }) });
    const [staging, production] = ids as [string, string];
    const looks = await Promise.all([staging, production, staging, production].map((id) => source.names(id)));
    expect(looks).toEqual([false, false, false, false]);
    expect(await source.names(staging)).toBe(false);
    expect(counting.count("PrometheusSource.findMany")).toBe(1);

    await db.prisma.prometheusSource.create({
      data: {
        environmentId: staging,
        url: "http://127.0.0.1:9",
        requestsQuery: "r",
        errorsQuery: "e",
        latencyQuery: "l",
        outageLimitSeconds: 60,
      },
    });
    source.forget();
    expect(await source.names(staging)).toBe(true);
    expect(await source.names(production)).toBe(false);
    expect(counting.count("PrometheusSource.findMany")).toBe(2);
  });
});
