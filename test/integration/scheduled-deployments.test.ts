/**
 * Scheduling a major change into a maintenance window, on a real panel: the worker starts it when the
 * window opens (its clock injected, so nothing waits for a real window), exactly once with two
 * workers racing and after a restart; it does not start when the checklist or the window no longer
 * holds, and tells the requester why; a scheduled start can be cancelled. The panel's own worker runs
 * hourly here (SCHEDULER_INTERVAL) and with the real clock, before any window, so it never interferes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScheduledStarts } from "../../server/scheduled-starts.ts";
import { finished, readyForProduction, setUpGovernedService } from "../helpers/governance-fixture.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal } from "../helpers/panel-client.ts";

let t: TestPanel;
const u = {} as Record<"rm" | "rm2" | "approver" | "admin", TestUser>;
let serviceId: string;
let staging: string;
let production: string;
let ciToken: string;

/** A release through staging, with an approved major change for production and a complete checklist. */
async function approvedMajorChange(version: string): Promise<{ releaseId: string; changeId: string }> {
  return readyForProduction(t, u, { serviceId, staging, production, ciToken }, version, {
    type: "major",
    title: `Schema rewrite ${version}`,
    performanceAssessment: "p95 +3 ms",
  });
}

const worker = (now: Date) => new ScheduledStarts(t.panel.services, { intervalMs: 3_600_000, now: () => now });

beforeAll(async () => {
  t = await startTestPanel({ SCHEDULER_INTERVAL: "3600" });
  u.rm = await t.createUser(["release_manager"], "Rita Requester");
  u.rm2 = await t.createUser(["release_manager"], "Ray Scheduler");
  u.approver = await t.createUser(["approver"], "Ann Approver");
  u.admin = await t.createUser(["admin"], "Ada Admin");
  ({ serviceId, staging, production, ciToken } = await setUpGovernedService(t, u.rm, "Ledger"));
});

afterAll(async () => {
  await t?.close();
});

describe("scheduling a change into a maintenance window", () => {
  it("is only for approved changes that need a window, by release managers, into an upcoming window", async () => {
    const { changeId } = await approvedMajorChange("1.0.0");
    const forbidden = await refusal(u.approver.client.maintenance.schedule.mutate({ changeRequestId: changeId }));
    expect(forbidden.status).toBe(403);
    const wrongWindow = await refusal(
      u.rm2.client.maintenance.schedule.mutate({ changeRequestId: changeId, windowStart: "2020-01-01T00:00:00Z" }),
    );
    expect(wrongWindow.status).toBe(400);
    expect(wrongWindow.message).toBe("The window start is not the start of one of the upcoming maintenance windows");
    expect(wrongWindow.field).toBe("windowStart");
    const windows = await u.rm.client.maintenance.windows.query({ serviceId });
    const second = windows.upcoming[1]!;
    const chosen = await u.rm2.client.maintenance.schedule.mutate({
      changeRequestId: changeId,
      windowStart: second.start,
    });
    expect(chosen.windowStart.toISOString()).toBe(second.start);
    const twice = await refusal(u.rm2.client.maintenance.schedule.mutate({ changeRequestId: changeId }));
    expect(twice.status).toBe(409);
    // Cancelled (audited), it never starts, and it can be scheduled again for the next window.
    await u.rm.client.maintenance.cancelSchedule.mutate({ id: chosen.id, reason: "Sooner" });
    expect(
      await t.prisma.auditEvent.count({ where: { action: "deployment.schedule_cancelled", entityId: chosen.id } }),
    ).toBe(1);
    expect((await refusal(u.rm.client.maintenance.cancelSchedule.mutate({ id: chosen.id }))).status).toBe(409);
    expect(await worker(new Date(new Date(second.start).getTime() + 60_000)).runOnce()).toEqual([]);
    const next = await u.rm2.client.maintenance.schedule.mutate({ changeRequestId: changeId });
    expect(next.windowStart.toISOString()).toBe(windows.upcoming[0]!.start);
    expect(
      await t.prisma.auditEvent.count({
        where: { action: "deployment.scheduled", entityId: next.id, actorId: u.rm2.id },
      }),
    ).toBe(1);
    const onTheChange = await u.approver.client.maintenance.scheduled.query({ changeRequestId: changeId });
    expect(onTheChange.map((s) => s.status)).toEqual(["scheduled", "cancelled"]);
  });

  it("starts exactly once when the window opens, with two workers racing and a restarted one", async () => {
    const [scheduled] = await t.prisma.scheduledDeployment.findMany({ where: { status: "scheduled" } });
    expect(scheduled).toBeDefined();
    // Before the window: nothing.
    expect(await worker(new Date(scheduled!.windowStart.getTime() - 60_000)).runOnce()).toEqual([]);
    const open = new Date(scheduled!.windowStart.getTime() + 60_000);
    const outcomes = (await Promise.all([worker(open).runOnce(), worker(open).runOnce()])).flat();
    expect(outcomes.filter((o) => o.outcome === "started")).toHaveLength(1);
    expect(outcomes.every((o) => o.outcome === "started" || o.outcome === "lost")).toBe(true);
    // A restarted panel finds nothing left to do.
    expect(await worker(open).runOnce()).toEqual([]);

    const row = await t.prisma.scheduledDeployment.findUniqueOrThrow({ where: { id: scheduled!.id } });
    expect(row.status).toBe("started");
    const deployments = await t.prisma.deployment.findMany({
      where: { environmentId: production, releaseId: scheduled!.releaseId },
    });
    expect(deployments.map((d) => d.id)).toEqual([row.deploymentId]);
    expect(deployments[0]!.changeRequestId).toBe(scheduled!.changeRequestId);
    expect((deployments[0]!.governance as { window: { name: string } | null }).window?.name).toBe(
      scheduled!.windowName,
    );
    expect((await t.prisma.changeRequest.findUniqueOrThrow({ where: { id: scheduled!.changeRequestId } })).status).toBe(
      "used",
    );
    // The claim, the start and the change's use are one transaction's audit events.
    const events = await t.prisma.auditEvent.findMany({
      where: {
        action: { in: ["deployment.schedule_started", "deployment.started", "change.used"] },
        at: { gte: row.createdAt },
      },
    });
    expect(events.map((e) => e.action).sort()).toEqual([
      "change.used",
      "deployment.schedule_started",
      "deployment.started",
    ]);
    expect(await finished(u.rm.client, row.deploymentId!)).toBe("succeeded");
  });

  it("does not start when the checklist no longer holds, and tells the requester why, once", async () => {
    const { releaseId, changeId } = await approvedMajorChange("2.0.0");
    const scheduled = await u.rm2.client.maintenance.schedule.mutate({ changeRequestId: changeId });
    const items = await u.rm.client.checklist.get.query({ releaseId, environmentId: production });
    const manual = items.find((i) => i.kind === "manual")!;
    await u.rm.client.checklist.tick.mutate({ releaseId, environmentId: production, key: manual.key, done: false });
    const open = new Date(scheduled.windowStart.getTime() + 60_000);
    const outcomes = (await Promise.all([worker(open).runOnce(), worker(open).runOnce()])).flat();
    expect(outcomes.filter((o) => o.outcome === "not_started")).toHaveLength(1);
    const row = await t.prisma.scheduledDeployment.findUniqueOrThrow({ where: { id: scheduled.id } });
    expect(row.status).toBe("not_started");
    expect(row.reason).toBe(`Required checklist items are not complete: ${manual.title}`);
    expect(await t.prisma.deployment.count({ where: { environmentId: production, releaseId } })).toBe(0);
    for (const who of [u.rm, u.rm2]) {
      const notices = await t.prisma.notification.findMany({
        where: { userId: who.id, kind: "scheduled_deployment_not_started" },
      });
      expect(
        notices.map((n) => n.body),
        who.email,
      ).toEqual([
        `"Schema rewrite 2.0.0" was scheduled for the maintenance window "${row.windowName}", but it did not start: ${row.reason}`,
      ]);
    }
    expect(
      await t.prisma.auditEvent.count({ where: { action: "deployment.schedule_not_started", entityId: row.id } }),
    ).toBe(1);
  });

  it("does not start after its window has closed (a panel that was down all through it)", async () => {
    const { changeId } = await approvedMajorChange("3.0.0");
    const scheduled = await u.rm2.client.maintenance.schedule.mutate({ changeRequestId: changeId });
    const late = new Date(scheduled.windowEnd.getTime() + 60_000);
    expect(await worker(late).runOnce()).toEqual([{ id: scheduled.id, outcome: "not_started" }]);
    const row = await t.prisma.scheduledDeployment.findUniqueOrThrow({ where: { id: scheduled.id } });
    expect(row.reason).toMatch(/^The maintenance window "[^"]+" \(.+\) is not open$/);
    expect(
      await t.prisma.notification.count({ where: { userId: u.rm.id, kind: "scheduled_deployment_not_started" } }),
    ).toBe(2);
  });
});
