/**
 * The deployment page's shared read on a real database: an unchanged deployment costs two statements
 * (its fingerprint and the split), every kind of change that the page shows is seen at the next read,
 * and readers of a changed deployment share one read. Writes go through another client, as another
 * panel instance's would: only the database can tell the reader that something changed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentReads } from "../../server/releases/deployment-reads.ts";
import { defaultPolicy, DEFAULT_ALERT_THRESHOLDS } from "../../server/releases/policy.ts";
import { deploymentDetail } from "../../server/releases/queries.ts";
import { appendEvent } from "../../server/releases/timeline.ts";
import { countingClient, openTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db?.close());

let serial = 0;
async function aDeployment() {
  serial++;
  const person = await db.prisma.user.create({
    data: { email: `rm${serial}@example.test`, name: "Rita", roles: ["release_manager"] },
  });
  const service = await db.prisma.service.create({ data: { slug: `svc-${serial}`, name: `Service ${serial}` } });
  const environment = await db.prisma.environment.create({
    data: {
      serviceId: service.id,
      name: "staging",
      position: 0,
      production: false,
      policy: defaultPolicy(false),
      alertThresholds: DEFAULT_ALERT_THRESHOLDS,
    },
  });
  const release = await db.prisma.release.create({
    data: { serviceId: service.id, version: "1.0.0", artifact: "a:1" },
  });
  const deployment = await db.prisma.deployment.create({
    data: {
      releaseId: release.id,
      environmentId: environment.id,
      activeEnvironmentId: environment.id,
      status: "shifting",
      targetSlot: "green",
      fromSlot: "blue",
      policy: defaultPolicy(false),
      startedById: person.id,
    },
  });
  return { person, environment, deployment };
}

const AT = new Date("2026-12-01T10:00:00Z");

describe("the deployment page's shared read", () => {
  it("reads an unchanged deployment again in two statements, and answers what a full read answers", async () => {
    const { deployment } = await aDeployment();
    const counted = countingClient(db.prisma);
    const reads = new DeploymentReads(counted.client);
    const first = await reads.get(deployment.id);
    // The fingerprint, the deployment with its timeline, gates, smoke results and related rows, the split.
    expect(counted.count()).toBe(3);
    expect(counted.count("Deployment.findUnique")).toBe(1);
    const second = await reads.get(deployment.id);
    // The fingerprint and the split, each one statement.
    expect(counted.count()).toBe(5);
    expect(counted.count("Deployment.findUnique")).toBe(1);
    expect(second).toEqual(first);
    expect(second).toEqual(await deploymentDetail(db.prisma, deployment.id));
  });

  // Each row is a write someone else makes; the next read must show it.
  const changes: [string, (d: Awaited<ReturnType<typeof aDeployment>>) => Promise<unknown>][] = [
    [
      "a timeline event",
      ({ deployment }) =>
        db.prisma.$transaction((tx) => appendEvent(tx, deployment.id, { kind: "phase", message: "Held for review" })),
    ],
    [
      "a gate result, then the same gate again with a new outcome",
      async ({ deployment }) => {
        const gate = { deploymentId: deployment.id, stepIndex: 0, weight: 10, gate: "error_rate", threshold: 1 };
        await db.prisma.gateResult.create({ data: { ...gate, outcome: "waiting", detail: "Waiting", at: AT } });
        await db.prisma.gateResult.update({
          where: { deploymentId_stepIndex_gate: { deploymentId: deployment.id, stepIndex: 0, gate: "error_rate" } },
          data: { outcome: "pass", detail: "Passed", at: new Date(AT.getTime() + 1000) },
        });
      },
    ],
    [
      "a smoke check result",
      ({ deployment }) =>
        db.prisma.smokeCheckResult.create({
          data: {
            deploymentId: deployment.id,
            round: "pre_traffic",
            attempt: 1,
            name: "home",
            kind: "http",
            ok: true,
            detail: "200 in 12 ms",
            at: AT,
          },
        }),
    ],
    [
      "a status line, written without a version bump as the reconciler writes it",
      ({ deployment }) =>
        db.prisma.deployment.updateMany({
          where: { id: deployment.id },
          data: { statusDetail: "baking step 1: 30 s left" },
        }),
    ],
    [
      "a new status",
      ({ deployment }) =>
        db.prisma.deployment.update({
          where: { id: deployment.id },
          data: { status: "paused", pausedFrom: "shifting" },
        }),
    ],
    [
      "the environment renamed",
      ({ environment }) =>
        db.prisma.environment.update({ where: { id: environment.id }, data: { name: "pre-production" } }),
    ],
    [
      "the person who started it renamed",
      ({ person }) => db.prisma.user.update({ where: { id: person.id }, data: { name: "Rita Release" } }),
    ],
  ];

  for (const [what, change] of changes)
    it(`shows ${what} at the next read`, async () => {
      const subject = await aDeployment();
      const reads = new DeploymentReads(db.prisma);
      const before = await reads.get(subject.deployment.id);
      await reads.get(subject.deployment.id);
      await change(subject);
      const after = await reads.get(subject.deployment.id);
      expect(after).not.toEqual(before);
      expect(after).toEqual(await deploymentDetail(db.prisma, subject.deployment.id));
    });

  it("shares one read among the readers of a changed deployment", async () => {
    const { deployment } = await aDeployment();
    const counted = countingClient(db.prisma);
    const reads = new DeploymentReads(counted.client);
    await reads.get(deployment.id);
    await db.prisma.$transaction((tx) => appendEvent(tx, deployment.id, { kind: "phase", message: "Changed" }));
    const before = counted.count("Deployment.findUnique");
    const answers = await Promise.all(Array.from({ length: 10 }, () => reads.get(deployment.id)));
    expect(counted.count("Deployment.findUnique") - before).toBe(1);
    for (const answer of answers) expect(answer.events.at(-1)?.message).toBe("Changed");
  });

  it("answers not found for a deployment that does not exist, and keeps no more deployments than it may", async () => {
    const reads = new DeploymentReads(db.prisma, 2);
    await expect(reads.get("00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({
      kind: "not_found",
      message: "Deployment 00000000-0000-4000-8000-000000000000 was not found",
    });
    for (let i = 0; i < 3; i++) await reads.get((await aDeployment()).deployment.id);
    expect(reads.size).toBe(2);
  });
});
