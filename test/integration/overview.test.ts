/**
 * The overview's read model on a real database: each cell's live release, deployment in progress
 * with its step, last finished deployment and pending change requests; and it stays a fixed number
 * of queries however many services there are (no query per service or environment).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { overview } from "../../server/overview.ts";
import { overviewQuery } from "../../server/overview-page.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import { countingClient, openTestDatabase, type TestDatabase } from "../helpers/database.ts";

const firstPage = overviewQuery.parse(undefined);
let db: TestDatabase;
let requesterId: string;

beforeAll(async () => {
  db = await openTestDatabase();
  requesterId = (
    await db.prisma.user.create({ data: { email: "rm@example.test", name: "RM", roles: ["release_manager"] } })
  ).id;
});
afterAll(() => db?.close());

async function addService(prisma: PrismaClient, slug: string) {
  const service = await prisma.service.create({ data: { slug, name: slug } });
  const envs = [];
  for (const [position, name] of ["staging", "production"].entries()) {
    const production = name === "production";
    envs.push(
      await prisma.environment.create({
        data: {
          serviceId: service.id,
          name,
          position,
          production,
          policy: { ...defaultPolicy(production), steps: [10, 50, 100] },
          alertThresholds: DEFAULT_ALERT_THRESHOLDS,
        },
      }),
    );
  }
  return { service, staging: envs[0]!, production: envs[1]! };
}

describe("the overview", () => {
  it("shows per environment what is live, what is deploying at which step, the last result and pending changes", async () => {
    const { service, staging, production } = await addService(db.prisma, "checkout");
    const v1 = await db.prisma.release.create({ data: { serviceId: service.id, version: "1.0.0", artifact: "a:1" } });
    const v2 = await db.prisma.release.create({ data: { serviceId: service.id, version: "1.1.0", artifact: "a:2" } });
    const v3 = await db.prisma.release.create({ data: { serviceId: service.id, version: "1.2.0", artifact: "a:3" } });
    await db.prisma.environment.update({
      where: { id: staging.id },
      data: { liveReleaseId: v2.id, liveSlot: "green" },
    });
    await db.prisma.environment.update({ where: { id: production.id }, data: { liveReleaseId: v1.id } });
    const policy = { ...defaultPolicy(false), steps: [10, 50, 100] };
    // Staging: 1.0.0 succeeded long ago, then 1.1.0 rolled back; 1.2.0 is at its second step.
    await db.prisma.deployment.create({
      data: {
        releaseId: v1.id,
        environmentId: staging.id,
        status: "succeeded",
        targetSlot: "blue",
        fromSlot: "green",
        policy,
        startedAt: new Date("2026-11-01T10:00:00Z"),
        finishedAt: new Date("2026-11-01T10:10:00Z"),
      },
    });
    const rolledBack = await db.prisma.deployment.create({
      data: {
        releaseId: v2.id,
        environmentId: staging.id,
        status: "rolled_back",
        targetSlot: "green",
        fromSlot: "blue",
        fromReleaseId: v1.id,
        policy,
        startedAt: new Date("2026-11-02T10:00:00Z"),
        finishedAt: new Date("2026-11-02T10:05:00Z"),
      },
    });
    const inProgress = await db.prisma.deployment.create({
      data: {
        releaseId: v3.id,
        environmentId: staging.id,
        activeEnvironmentId: staging.id,
        status: "shifting",
        stepIndex: 1,
        targetSlot: "blue",
        fromSlot: "green",
        fromReleaseId: v2.id,
        policy,
      },
    });
    const older = await db.prisma.changeRequest.create({
      data: {
        releaseId: v3.id,
        environmentId: production.id,
        type: "standard",
        title: "1.2.0",
        requestedById: requesterId,
        createdAt: new Date("2026-11-03T10:00:00Z"),
      },
    });
    await db.prisma.changeRequest.create({
      data: {
        releaseId: v2.id,
        environmentId: production.id,
        type: "standard",
        title: "1.1.0",
        requestedById: requesterId,
        createdAt: new Date("2026-11-04T10:00:00Z"),
      },
    });
    await db.prisma.changeRequest.create({
      data: {
        releaseId: v1.id,
        environmentId: production.id,
        type: "standard",
        title: "1.0.0",
        requestedById: requesterId,
        status: "approved",
      },
    });

    const rows = (await overview(db.prisma, firstPage)).services;
    const row = rows.find((s) => s.slug === "checkout")!;
    const [s, p] = row.environments;
    expect(s).toMatchObject({
      name: "staging",
      liveVersion: "1.1.0",
      liveSlot: "green",
      activeDeployment: { id: inProgress.id, status: "shifting", version: "1.2.0", stepIndex: 1, steps: [10, 50, 100] },
      lastDeployment: { id: rolledBack.id, status: "rolled_back", version: "1.1.0" },
      pendingChanges: null,
      health: null,
      availabilityPercent: null,
    });
    expect(p).toMatchObject({
      name: "production",
      liveVersion: "1.0.0",
      activeDeployment: null,
      lastDeployment: null,
      pendingChanges: { count: 2, oldestId: older.id },
    });
  });

  it("answers in the same number of queries for 2 services as for 30", async () => {
    const fresh = await openTestDatabase();
    try {
      for (let i = 0; i < 2; i++) await addService(fresh.prisma, `svc-${i}`);
      const few = countingClient(fresh.prisma);
      expect((await overview(few.client, firstPage)).services).toHaveLength(2);
      for (let i = 2; i < 30; i++) await addService(fresh.prisma, `svc-${i}`);
      const many = countingClient(fresh.prisma);
      expect((await overview(many.client, firstPage)).services).toHaveLength(30);
      expect(many.count()).toBe(few.count());
      expect(few.count()).toBeLessThanOrEqual(8);
    } finally {
      await fresh.close();
    }
  });
  it("answers one page: search, filter and sort apply across every service, and traffic is read for the page's cells", async () => {
    const fresh = await openTestDatabase();
    try {
      const made = [];
      for (let i = 0; i < 30; i++) made.push(await addService(fresh.prisma, `svc-${i}`));
      // svc-17's staging is deploying; svc-25's staging has traffic.
      const deploying = made[17]!;
      const release = await fresh.prisma.release.create({
        data: { serviceId: deploying.service.id, version: "2.0.0", artifact: "a:2" },
      });
      await fresh.prisma.deployment.create({
        data: {
          releaseId: release.id,
          environmentId: deploying.staging.id,
          activeEnvironmentId: deploying.staging.id,
          status: "shifting",
          targetSlot: "blue",
          fromSlot: "green",
          policy: { ...defaultPolicy(false), steps: [10, 50, 100] },
        },
      });
      const now = new Date();
      await fresh.prisma.metricSample.create({
        data: {
          environmentId: made[25]!.staging.id,
          slot: "blue",
          at: new Date(now.getTime() - 2000),
          requests: 30,
          errors: 3,
          p50: 10,
          p95: 20,
          p99: 30,
          weight: 100,
        },
      });
      const read = (query: Record<string, unknown>) => overview(fresh.prisma, overviewQuery.parse(query), now);
      const slugs = (page: { services: { slug: string }[] }) => page.services.map((s) => s.slug);

      const first = await read({ pageSize: 10 });
      expect(first).toMatchObject({
        matching: 30,
        total: 30,
        page: 1,
        pageCount: 3,
        environments: ["staging", "production"],
      });
      expect(slugs(first)).toEqual([
        "svc-0",
        "svc-1",
        "svc-2",
        "svc-3",
        "svc-4",
        "svc-5",
        "svc-6",
        "svc-7",
        "svc-8",
        "svc-9",
      ]);
      const third = await read({ pageSize: 10, page: 3 });
      expect(slugs(third)).toEqual(Array.from({ length: 10 }, (_, i) => `svc-${20 + i}`));
      expect(third.services.find((s) => s.slug === "svc-25")!.environments[0]!.health).toMatchObject({
        requests: 30,
        errorRatePercent: 10,
      });
      // A page past the last answers the last.
      expect(await read({ pageSize: 10, page: 99 })).toMatchObject({ page: 3 });
      // Sorted by how much its staging cell needs attention, the deploying service comes first; descending, last.
      expect(slugs(await read({ pageSize: 10, sort: "env:staging" }))[0]).toBe("svc-17");
      expect(slugs(await read({ pageSize: 30, sort: "-env:staging" })).at(-1)).toBe("svc-17");
      expect(slugs(await read({ pageSize: 3, sort: "-service" }))).toEqual(["svc-29", "svc-28", "svc-27"]);
      expect(await read({ show: "deploying" })).toMatchObject({ matching: 1, services: [{ slug: "svc-17" }] });
      expect(await read({ search: "SVC-2" })).toMatchObject({ matching: 11, total: 30 });
      expect(await read({ search: "nothing like it" })).toMatchObject({
        matching: 0,
        services: [],
        page: 1,
        pageCount: 1,
      });
    } finally {
      await fresh.close();
    }
  });
});
