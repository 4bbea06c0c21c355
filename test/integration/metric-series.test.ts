/**
 * environments.metrics, the series behind a deployment's charts: from a deployment's start (less a
 * minute) to now, or, for a finished deployment, to its end (plus a minute), so a page opened later
 * shows the deployment and not everything since. Samples are written straight into the database at
 * known seconds; the query is called over HTTP as the page calls it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal } from "../helpers/panel-client.ts";
import { latestMeasuredWeights } from "../../server/releases/queries.ts";

let t: TestPanel;
let rm: TestUser;
let environmentId: string;
/** A whole second, 20 minutes ago: the samples are the 10 minutes that follow it. */
const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 20 * 60_000);
const second = (n: number) => new Date(start.getTime() + n * 1000);

beforeAll(async () => {
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"], "Rel Manager");
  const service = await rm.client.services.create.mutate({ name: "Series", environments: ["staging"] });
  environmentId = (await t.prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } })).id;
  await t.prisma.metricSample.createMany({
    data: Array.from({ length: 600 }, (_, n) => ({
      environmentId,
      slot: "blue" as const,
      at: second(n),
      requests: 10,
      errors: 0,
      p50: 5,
      p95: 9,
      p99: 12,
      weight: 100,
    })),
  });
});

afterAll(() => t?.close());

describe("environments.metrics", () => {
  it("runs from `from` to now without `to`", async () => {
    const series = await rm.client.environments.metrics.query({ environmentId, from: second(100) });
    expect(series.resolutionSeconds).toBe(1);
    // The samples written here, then whatever the panel itself recorded since (its per-second feed for
    // this environment, seconds ago), and nothing else.
    const written = series.points.filter((p) => new Date(p.at) <= second(599));
    expect(written.map((p) => p.at)).toEqual(Array.from({ length: 500 }, (_, n) => second(100 + n).toISOString()));
    const recorded = series.points.slice(written.length);
    expect(recorded.every((p) => Date.now() - new Date(p.at).getTime() < 5 * 60_000)).toBe(true);
  });

  it("ends at `to`: a finished deployment's series stops a minute after it did", async () => {
    const series = await rm.client.environments.metrics.query({ environmentId, from: second(100), to: second(250) });
    expect(series.points.map((p) => p.at)).toEqual(
      Array.from({ length: 151 }, (_, n) => second(100 + n).toISOString()),
    );
  });

  it.each<[string, Record<string, Date>]>([
    ["before `from`", { from: second(200), to: second(100) }],
    ["without `from`", { to: second(100) }],
  ])("refuses a `to` %s, naming the field", async (_name, range) => {
    const refused = await refusal(rm.client.environments.metrics.query({ environmentId, ...range }));
    expect(refused.status).toBe(400);
    expect(refused.message).toBe("To: must come with a from, and not before it");
    expect(refused.field).toBe("to");
  });
});

describe("latestMeasuredWeights: the split the deployment page shows while a deployment runs", () => {
  it.each<[string, { blue?: number; green?: number }, Record<"blue" | "green", number> | null]>([
    ["both slots measured in the newest second", { blue: 0, green: 0 }, { blue: 90, green: 10 }],
    ["green's newest second is older than blue's", { blue: 0, green: 1 }, null],
    ["only one slot measured", { blue: 0 }, null],
    ["the newest second is 10 s old", { blue: 10, green: 10 }, null],
  ])("%s", async (what, secondsAgo, expected) => {
    const service = await rm.client.services.create.mutate({
      name: `Weights ${what}`,
      environments: ["production"],
    });
    const env = await t.prisma.environment.findFirstOrThrow({ where: { serviceId: service.id } });
    const now = Math.floor(Date.now() / 1000) * 1000;
    const sample = (slot: "blue" | "green", ago: number, weight: number) => ({
      environmentId: env.id,
      slot,
      at: new Date(now - ago * 1000),
      requests: 1,
      errors: 0,
      p50: 1,
      p95: 1,
      p99: 1,
      weight,
    });
    // An older second with the other split, under the newest ones.
    await t.prisma.metricSample.createMany({ data: [sample("blue", 30, 50), sample("green", 30, 50)] });
    await t.prisma.metricSample.createMany({
      data: [
        ...(secondsAgo.blue !== undefined ? [sample("blue", secondsAgo.blue, 90)] : []),
        ...(secondsAgo.green !== undefined ? [sample("green", secondsAgo.green, 10)] : []),
      ],
    });
    expect(await latestMeasuredWeights(t.prisma, env.id, now)).toEqual(expected);
  });
});
