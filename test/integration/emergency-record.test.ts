/**
 * What an emergency deployment's record says, and who hears about the emergency, on a real panel.
 * A release with an approved major change and a complete checklist that had passed staging, deployed
 * during an authorised emergency: the record keeps the change (now used), its approvals and the
 * checklist, and does not claim the promotion order was bypassed. The requester, whatever their
 * role, is told of the decision and that the post-incident review is theirs; a new owner is told too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, readyForProduction, release, setUpGovernedService } from "../helpers/governance-fixture.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";

let t: TestPanel;
const u = {} as Record<"rm" | "approver" | "cto" | "oncall" | "viewer", TestUser>;
let serviceId: string;
let staging: string;
let production: string;
let ciToken: string;

beforeAll(async () => {
  t = await startTestPanel({ SCHEDULER_INTERVAL: "3600" });
  u.rm = await t.createUser(["release_manager"], "Rita Requester");
  u.approver = await t.createUser(["approver"], "Ann Approver");
  u.cto = await t.createUser(["cto"], "Cora CTO");
  u.oncall = await t.createUser(["oncall"], "Otto Oncall");
  u.viewer = await t.createUser(["viewer"], "Vic Viewer");
  ({ serviceId, staging, production, ciToken } = await setUpGovernedService(t, u.rm));
});

afterAll(async () => {
  await t?.close();
});

describe("the emergency's requester", () => {
  it("is told when it is refused, with the reason", async () => {
    const { id } = await u.viewer.client.maintenance.requestEmergency.mutate({
      reason: "Disk filling",
      impact: "None yet",
      plannedActions: "Rotate logs",
      serviceId,
    });
    await u.cto.client.maintenance.rejectEmergency.mutate({ id, note: "Not urgent: do it in the window" });
    const notices = await t.prisma.notification.findMany({
      where: { userId: u.viewer.id, kind: "emergency_rejected" },
    });
    expect(notices.map((n) => n.body)).toEqual([
      `${u.cto.email} did not authorise "Disk filling": Not urgent: do it in the window`,
    ]);
  });

  it("is told when it is authorised, and that the post-incident review is theirs; a new owner is told too", async () => {
    const { id } = await u.viewer.client.maintenance.requestEmergency.mutate({
      reason: "Checkout failing",
      impact: "No sales",
      plannedActions: "Ship hotfix",
      serviceId,
    });
    await u.cto.client.maintenance.authorizeEmergency.mutate({ id, note: "Go" });
    const review = await t.prisma.postIncidentReview.findUniqueOrThrow({ where: { emergencyId: id } });
    expect(review.ownerId).toBe(u.viewer.id);
    expect(await t.prisma.notification.count({ where: { userId: u.viewer.id, kind: "emergency_authorized" } })).toBe(1);
    const owned = await t.prisma.notification.findMany({ where: { userId: u.viewer.id, kind: "review_assigned" } });
    expect(owned.map((n) => [n.title, n.link])).toEqual([
      ["You own a post-incident review", `/maintenance?review=${review.id}`],
    ]);
    expect(owned[0]!.body).toContain(`due ${review.dueAt.toISOString()}`);

    await u.cto.client.maintenance.updateReview.mutate({ id: review.id, ownerId: u.oncall.id });
    expect(await t.prisma.notification.count({ where: { userId: u.oncall.id, kind: "review_assigned" } })).toBe(1);
    // Saving the review again without a new owner tells nobody again.
    await u.cto.client.maintenance.updateReview.mutate({ id: review.id, rootCause: "Expired certificate" });
    expect(await t.prisma.notification.count({ where: { kind: "review_assigned" } })).toBe(2);
  });
});

describe("a deployment under an emergency", () => {
  it("records the approved change (used), the checklist as it stood, and that the promotion order held", async () => {
    const { releaseId, changeId } = await readyForProduction(
      t,
      u,
      { serviceId, staging, production, ciToken },
      "2.0.0",
      {
        type: "major",
        title: "Checkout rewrite",
        performanceAssessment: "p95 +2 ms",
      },
    );
    const items = await u.rm.client.checklist.get.query({ releaseId, environmentId: production });
    expect(items.length).toBeGreaterThan(0);
    // The emergency of the test above is still authorised: the major change starts outside a window.
    const d = await u.rm.client.deployments.start.mutate({ releaseId, environmentId: production });
    const deployment = await t.prisma.deployment.findUniqueOrThrow({
      where: { id: d.id },
      include: { events: { orderBy: { seq: "asc" } } },
    });
    expect(deployment.emergency).toBe(true);
    expect(deployment.changeRequestId).toBe(changeId);
    const governance = deployment.governance as {
      changeRequest: { id: string } | null;
      approvals: { role: string }[];
      checklist: { done: boolean }[];
      emergency: { reason: string } | null;
    };
    expect(governance.changeRequest?.id).toBe(changeId);
    expect(governance.approvals.map((a) => a.role)).toEqual(["approver"]);
    expect(governance.checklist.length).toBe(items.length);
    expect(governance.checklist.every((i) => i.done)).toBe(true);
    expect(governance.emergency?.reason).toBe("Checkout failing");
    expect(await t.prisma.changeRequest.findUniqueOrThrow({ where: { id: changeId } })).toMatchObject({
      status: "used",
      deploymentId: d.id,
    });
    expect(await t.prisma.auditEvent.count({ where: { action: "change.used", entityId: changeId } })).toBe(1);
    const created = deployment.events.find((e) => e.kind === "created")!;
    expect(created.message).not.toContain("bypassed");
    expect(created.message).toContain("under an authorised emergency; promotion order held");
    expect(created.data).toMatchObject({ emergency: true, promotionOrderBypassed: false });
    expect(await finished(u.rm.client, d.id)).toBe("succeeded");
  });

  it("says the promotion order was bypassed when the release never passed staging", async () => {
    const releaseId = await release(u.rm.client, serviceId, "2.0.1");
    const d = await u.rm.client.deployments.start.mutate({ releaseId, environmentId: production });
    const created = await t.prisma.deploymentEvent.findFirstOrThrow({ where: { deploymentId: d.id, kind: "created" } });
    expect(created.message).toContain("(emergency: promotion order bypassed)");
    expect(created.data).toMatchObject({ promotionOrderBypassed: true });
    const deployment = await t.prisma.deployment.findUniqueOrThrow({ where: { id: d.id } });
    expect((deployment.governance as { changeRequest: unknown }).changeRequest).toBeNull();
    expect(await finished(u.rm.client, d.id)).toBe("succeeded");
  });
});
