/**
 * A service's deployment history for auditors (audit.deploymentHistory): every deployment, newest
 * first, with release, environment, status, who started it and its figures, and the approvals and
 * checklist evidence as they stood when it started — read from the snapshot kept with the
 * deployment, so later changes do not rewrite history. No snapshot is null; a malformed one is shown
 * as stored, not hidden.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { deploymentHistory, deploymentHistoryInput } from "../../server/audit/history.ts";
import type { Prisma } from "../../server/db/generated/client.ts";
import { DomainError } from "../../server/errors.ts";
import type { GovernanceSnapshot } from "../../server/governance/start-guard.ts";
import { createService } from "../../server/releases/catalog.ts";
import type { Services } from "../../server/services.ts";
import type { Context } from "../../server/trpc/context.ts";
import { createCallerFactory } from "../../server/trpc/init.ts";
import { appRouter } from "../../server/trpc/root.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";

const SNAPSHOT: GovernanceSnapshot = {
  changeRequest: {
    id: "cr-1",
    type: "user_facing",
    title: "Checkout redesign",
    revision: 2,
    requestedBy: { email: "rm@example.test", name: "Rita Manager" },
  },
  approvals: [
    {
      role: "approver",
      approver: { email: "ann@example.test", name: "Ann Approver" },
      decision: "approved",
      reason: null,
      at: "2026-11-20T10:00:00.000Z",
    },
    {
      role: "business_stakeholder",
      approver: { email: "bo@example.test", name: "Bo Business" },
      decision: "approved",
      reason: "Marketing is ready",
      at: "2026-11-20T11:30:00.000Z",
    },
  ],
  checklist: [
    {
      key: "tests",
      title: "Tests pass",
      kind: "automatic",
      required: true,
      done: true,
      note: null,
      link: null,
      completedBy: null,
      completedAt: "2026-11-20T09:00:00.000Z",
      evidence: {
        status: "passed",
        url: "https://ci.example.test/build/42",
        details: "312 tests",
        token: "ci-main",
        at: "2026-11-20T09:00:00.000Z",
      },
    },
    {
      key: "runbook",
      title: "Runbook updated",
      kind: "manual",
      required: true,
      done: true,
      note: "v3",
      link: "https://wiki.example.test/runbook",
      completedBy: { email: "rm@example.test", name: "Rita Manager" },
      completedAt: "2026-11-20T09:30:00.000Z",
      evidence: null,
    },
    {
      key: "comms",
      title: "Customers told",
      kind: "manual",
      required: false,
      done: false,
      note: null,
      link: null,
      completedBy: null,
      completedAt: null,
      evidence: null,
    },
  ],
  window: { name: "Sunday night", start: "2026-11-22T22:00:00.000Z", end: "2026-11-23T02:00:00.000Z" },
  emergency: null,
};

const EMERGENCY: GovernanceSnapshot = {
  changeRequest: null,
  approvals: [],
  checklist: [],
  window: null,
  emergency: {
    id: "em-1",
    authorizedBy: { email: "cto@example.test", name: "Chris CTO" },
    reason: "Payments are down",
  },
};

let db: TestDatabase;
let service: { id: string; name: string };
let other: { id: string };
let staging: { id: string };
let production: { id: string };
let starter: { id: string; email: string; name: string };
const ids: Record<string, string> = {};

const FIGURES = {
  durationSeconds: 612.5,
  breachToRollbackSeconds: null,
  errorRateChangePp: 0.02,
  secondsWithoutSuccess: 0,
  targets: { durationSeconds: 1800, breachToRollbackSeconds: 300, errorRateChangePp: 0.1, secondsWithoutSuccess: 0 },
};

async function deploy(
  name: string,
  env: { id: string },
  version: string,
  startedAt: string,
  data: Partial<Prisma.DeploymentUncheckedCreateInput> = {},
) {
  const release = await db.prisma.release.upsert({
    where: {
      serviceId_version: {
        serviceId: (await db.prisma.environment.findUniqueOrThrow({ where: { id: env.id } })).serviceId,
        version,
      },
    },
    create: {
      serviceId: (await db.prisma.environment.findUniqueOrThrow({ where: { id: env.id } })).serviceId,
      version,
      artifact: `demo:${version}`,
      commitSha: "0123456789abcdef0123",
    },
    update: {},
  });
  const d = await db.prisma.deployment.create({
    data: {
      releaseId: release.id,
      environmentId: env.id,
      targetSlot: "green",
      fromSlot: "blue",
      policy: {},
      status: "succeeded",
      startedAt: new Date(startedAt),
      startedById: starter.id,
      ...data,
    },
  });
  ids[name] = d.id;
  return d;
}

const history = (input: { serviceId: string; cursor?: string; limit?: number }) =>
  deploymentHistory(db.prisma, deploymentHistoryInput.parse(input));

beforeAll(async () => {
  db = await openTestDatabase();
  const created = await createService(db.prisma, systemActor(), {
    name: "Payments",
    description: "",
    environments: ["staging", "production"],
  });
  service = created.service;
  staging = created.environments.find((e) => e.name === "staging")!;
  production = created.environments.find((e) => e.name === "production")!;
  const otherService = await createService(db.prisma, systemActor(), {
    name: "Search",
    description: "",
    environments: ["production"],
  });
  other = otherService.service;
  starter = await db.prisma.user.create({
    data: { email: "rm@example.test", name: "Rita Manager", roles: ["release_manager"] },
  });

  await deploy("staging1", staging, "1.0.0", "2026-11-19T08:00:00.000Z", {
    figures: FIGURES,
    finishedAt: new Date("2026-11-19T08:10:12.500Z"),
  });
  await deploy("prod1", production, "1.0.0", "2026-11-22T22:15:00.000Z", {
    governance: SNAPSHOT as unknown as Prisma.InputJsonValue,
    changeRequestId: "cr-1",
    figures: FIGURES,
    finishedAt: new Date("2026-11-22T22:25:00.000Z"),
  });
  await deploy("emergency", production, "1.0.1", "2026-11-23T03:00:00.000Z", {
    governance: EMERGENCY as unknown as Prisma.InputJsonValue,
    emergency: true,
    status: "rolled_back",
    failureReason: "error rate 7% > 1%",
  });
  await deploy("malformed", production, "1.0.2", "2026-11-23T05:00:00.000Z", {
    governance: { approvals: "all of them" },
    status: "aborted",
  });
  // Two started in the same millisecond: pages must still neither skip nor repeat one.
  await deploy("tieA", staging, "1.1.0", "2026-11-24T09:00:00.000Z", { status: "deploying_green" });
  await deploy("tieB", staging, "1.1.1", "2026-11-24T09:00:00.000Z", { status: "failed" });
  await deploy(
    "elsewhere",
    await db.prisma.environment.findFirstOrThrow({ where: { serviceId: other.id } }),
    "9.9.9",
    "2026-11-24T10:00:00.000Z",
  );
});
afterAll(() => db?.close());

describe("a service's deployment history", () => {
  it("lists every deployment of the service, newest first, with release, environment, status, who started it and its figures", async () => {
    const page = await history({ serviceId: service.id });
    expect(page.service).toEqual({ id: service.id, name: "Payments", slug: "payments" });
    const tie = [ids.tieA!, ids.tieB!].sort().reverse();
    expect(page.deployments.map((d) => d.id)).toEqual([...tie, ids.malformed, ids.emergency, ids.prod1, ids.staging1]);
    expect(page.nextCursor).toBeNull();
    const prod1 = page.deployments.find((d) => d.id === ids.prod1)!;
    expect(prod1).toMatchObject({
      release: { version: "1.0.0", artifact: "demo:1.0.0", commitSha: "0123456789abcdef0123" },
      environment: { id: production.id, name: "production", production: true },
      status: "succeeded",
      emergency: false,
      changeRequestId: "cr-1",
      startedBy: { email: "rm@example.test", name: "Rita Manager" },
      startedAt: new Date("2026-11-22T22:15:00.000Z"),
      finishedAt: new Date("2026-11-22T22:25:00.000Z"),
      figures: FIGURES,
    });
    expect(page.deployments.find((d) => d.id === ids.emergency)).toMatchObject({
      status: "rolled_back",
      emergency: true,
      failureReason: "error rate 7% > 1%",
    });
  });

  it("shows approvals, checklist and evidence exactly as recorded when the deployment started", async () => {
    const prod1 = (await history({ serviceId: service.id })).deployments.find((d) => d.id === ids.prod1)!;
    expect(prod1.governance).toEqual(SNAPSHOT);
    expect(prod1.unreadable).toBeNull();
    const emergency = (await history({ serviceId: service.id })).deployments.find((d) => d.id === ids.emergency)!;
    expect(emergency.governance).toEqual(EMERGENCY);
  });

  it("is not rewritten by what happened since: people renamed, the checklist template changed", async () => {
    await db.prisma.user.update({ where: { id: starter.id }, data: { name: "Rita Renamed" } });
    await db.prisma.checklistTemplateItem.create({
      data: {
        environmentId: production.id,
        position: 9,
        key: "late",
        title: "Added later",
        kind: "manual",
        required: true,
      },
    });
    const prod1 = (await history({ serviceId: service.id })).deployments.find((d) => d.id === ids.prod1)!;
    expect(prod1.governance).toEqual(SNAPSHOT);
    // Who started it is the person, as they are now: the snapshot is what governs the change.
    expect(prod1.startedBy).toEqual({ email: "rm@example.test", name: "Rita Renamed" });
  });

  it("has no governance for a non-production deployment", async () => {
    const staging1 = (await history({ serviceId: service.id })).deployments.find((d) => d.id === ids.staging1)!;
    expect(staging1).toMatchObject({
      governance: null,
      unreadable: null,
      environment: { name: "staging", production: false },
    });
  });

  it("shows a snapshot it cannot read as stored, with what is wrong with it", async () => {
    const malformed = (await history({ serviceId: service.id })).deployments.find((d) => d.id === ids.malformed)!;
    expect(malformed.governance).toBeNull();
    expect(malformed.unreadable).toEqual({
      problem: expect.stringContaining("approvals:"),
      stored: { approvals: "all of them" },
    });
  });

  it("pages newest first with a cursor, without gaps or repeats, even across deployments started together", async () => {
    const all = (await history({ serviceId: service.id })).deployments.map((d) => d.id);
    for (const limit of [1, 2, 4]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await history({ serviceId: service.id, cursor, limit });
        seen.push(...page.deployments.map((d) => d.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(seen, `by ${limit}`).toEqual(all);
    }
  });

  it("refuses a cursor from another service and an unknown service, naming the field", async () => {
    await expect(history({ serviceId: service.id, cursor: ids.elsewhere })).rejects.toMatchObject({
      message: "The cursor must be a deployment of Payments",
      field: "cursor",
    });
    await expect(history({ serviceId: "00000000-0000-4000-8000-000000000000" })).rejects.toMatchObject({
      kind: "not_found",
    });
    await expect(history({ serviceId: service.id, cursor: ids.elsewhere })).rejects.toBeInstanceOf(DomainError);
    expect(deploymentHistoryInput.safeParse({ serviceId: "payments" }).error?.issues[0]).toMatchObject({
      path: ["serviceId"],
      message: "must be a service id",
    });
    expect(deploymentHistoryInput.safeParse({ serviceId: service.id, cursor: "x" }).error?.issues[0]).toMatchObject({
      path: ["cursor"],
      message: "must be a deployment id",
    });
  });

  it("is served by audit.deploymentHistory to auditors, and refused to others", async () => {
    const services = { prisma: db.prisma, security: { observe: async () => {} } } as unknown as Services;
    const caller = (roles: Context["user"] extends infer U ? (U extends { roles: infer R } ? R : never) : never) =>
      createCallerFactory(appRouter)({
        services,
        user: {
          id: starter.id,
          email: "x@example.test",
          name: "X",
          roles,
          sessionId: "history-session",
          sessionExpiresAt: new Date(Date.now() + 3600_000),
        },
        ip: "10.0.0.9",
        traceId: "history-trace",
      });
    const page = await caller(["auditor"]).audit.deploymentHistory({ serviceId: service.id, limit: 2 });
    expect(page.deployments).toHaveLength(2);
    expect(page.nextCursor).toBe(page.deployments[1]!.id);
    await expect(caller(["release_manager"]).audit.deploymentHistory({ serviceId: service.id })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });
});
