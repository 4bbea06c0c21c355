/**
 * Governance through the API, on a real panel: change requests and the approval policy, checklists
 * with CI evidence, maintenance windows, emergencies and their reviews, durable notices, security
 * alerts and surveys.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoticeScheduler } from "../../server/governance/scheduler.ts";
import {
  completeChecklist,
  finished,
  release,
  setUpGovernedService,
  throughStaging,
} from "../helpers/governance-fixture.ts";
import { postCredentials, startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal, refusalOf, type RouterInputs } from "../helpers/panel-client.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let webhook: http.Server;
const webhookCalls: { headers: http.IncomingHttpHeaders; body: { text: string } }[] = [];
const u = {} as Record<
  "rm" | "rm2" | "approver" | "stakeholder" | "security" | "cto" | "oncall" | "admin" | "auditor" | "both",
  TestUser
>;
let serviceId: string;
let staging: string;
let production: string;

function postEvidence(releaseId: string, token: string | null, body: unknown) {
  return fetch(`${t.url}/api/v1/releases/${releaseId}/evidence`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

let ciToken: string;

beforeAll(async () => {
  smtp = await startSmtpSink();
  webhook = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      webhookCalls.push({ headers: req.headers, body: JSON.parse(body) });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  t = await startTestPanel({
    NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/slack`,
    SMTP_URL: smtp.url,
    TRUST_PROXY: "true",
    // This test drives the scheduler itself.
    SCHEDULER_INTERVAL: "3600",
  });
  u.rm = await t.createUser(["release_manager"], "Rita Requester");
  u.rm2 = await t.createUser(["release_manager"], "Ray Manager");
  u.approver = await t.createUser(["approver"], "Ann Approver");
  u.stakeholder = await t.createUser(["business_stakeholder"], "Bea Business");
  u.security = await t.createUser(["security_reviewer"], "Sam Security");
  u.cto = await t.createUser(["cto"], "Cora CTO");
  u.oncall = await t.createUser(["oncall"], "Otto Oncall");
  u.admin = await t.createUser(["admin"], "Ada Admin");
  u.auditor = await t.createUser(["auditor"], "Audrey Auditor");
  u.both = await t.createUser(["approver", "business_stakeholder"], "Bo Both");
  ({ serviceId, staging, production, ciToken } = await setUpGovernedService(t, u.rm));
});

afterAll(async () => {
  await t?.close();
  await smtp?.close();
  webhook?.close();
});

describe("a user-facing production change", () => {
  let releaseId: string;
  let changeId: string;

  it("cannot start without a change request", async () => {
    releaseId = await throughStaging(u.rm.client, { serviceId, staging }, "1.0.0");
    const response = await refusal(u.rm.client.deployments.start.mutate({ releaseId, environmentId: production }));
    expect(response.status).toBe(412);
    expect(response.message).toBe(
      "A production deployment needs an approved change request; there is none for release 1.0.0 in production",
    );
    expect(response.field).toBe("releaseId");
  });

  it("notifies the approvers it needs", async () => {
    changeId = (
      await u.rm.client.changes.create.mutate({
        releaseId,
        environmentId: production,
        type: "user_facing",
        title: "New checkout page",
      })
    ).id;
    const inbox = await u.stakeholder.client.changes.inbox.query();
    expect(inbox.map((c) => c.id)).toContain(changeId);
    expect(await t.prisma.notification.count({ where: { userId: u.stakeholder.id, kind: "approval_requested" } })).toBe(
      1,
    );
    expect(await t.prisma.notification.count({ where: { userId: u.rm.id, kind: "approval_requested" } })).toBe(0);
  });

  it("refuses the requester's own approval (403, audited)", async () => {
    await t.prisma.user.update({ where: { id: u.rm.id }, data: { roles: ["release_manager", "approver"] } });
    const response = await refusal(u.rm.client.changes.approve.mutate({ id: changeId }));
    expect(response.status).toBe(403);
    expect(response.message).toBe("You requested this change; someone else must approve it");
    expect(
      await t.prisma.auditEvent.count({ where: { action: "auth.forbidden", entityId: changeId, actorId: u.rm.id } }),
    ).toBe(1);
    expect(await t.prisma.approval.count({ where: { changeRequestId: changeId } })).toBe(0);
    await t.prisma.user.update({ where: { id: u.rm.id }, data: { roles: ["release_manager"] } });
  });

  it("with only the approver's sign-off it cannot start", async () => {
    await u.approver.client.changes.approve.mutate({ id: changeId });
    const response = await refusal(u.rm.client.deployments.start.mutate({ releaseId, environmentId: production }));
    expect(response.status).toBe(412);
    expect(response.message).toBe(
      'The change request "New checkout page" still needs approval from a business stakeholder',
    );
    expect(response.field).toBe("changeRequest");
  });

  it("lets one person fill only one required role", async () => {
    const other = await release(u.rm.client, serviceId, "1.0.1");
    const cr = (
      await u.rm.client.changes.create.mutate({
        releaseId: other,
        environmentId: production,
        type: "user_facing",
        title: "Two hats",
      })
    ).id;
    await u.both.client.changes.approve.mutate({ id: cr, role: "approver" });
    const again = await refusal(u.both.client.changes.approve.mutate({ id: cr, role: "business_stakeholder" }));
    expect(again.status).toBe(409);
    expect(again.message).toBe("You have already decided on this revision of the change");
    const detail = await u.rm.client.changes.get.query({ id: cr });
    expect(detail.evaluation.missing).toEqual(["business_stakeholder"]);
  });

  it("needs the required checklist before it starts, even when approved", async () => {
    await u.stakeholder.client.changes.approve.mutate({ id: changeId });
    const response = await refusal(u.rm.client.deployments.start.mutate({ releaseId, environmentId: production }));
    expect(response.status).toBe(412);
    expect(response.message).toMatch(
      /^Required checklist items are not complete: Code review completed and approved; Security scan passed/,
    );
    expect(response.field).toBe("checklist");
  });

  it("starts once approved and the checklist is complete, keeping the record as it was", async () => {
    await completeChecklist(t, u.rm.client, ciToken, { releaseId, environmentId: production });
    const d = await u.rm.client.deployments.start.mutate({ releaseId, environmentId: production });
    const deployment = await t.prisma.deployment.findUniqueOrThrow({ where: { id: d.id } });
    expect(deployment.changeRequestId).toBe(changeId);
    const governance = deployment.governance as {
      approvals: { role: string; approver: { email: string } }[];
      checklist: { done: boolean; evidence: unknown }[];
    };
    expect(governance.approvals.map((a) => a.role).sort()).toEqual(["approver", "business_stakeholder"]);
    expect(governance.checklist.every((i) => i.done)).toBe(true);
    expect(
      governance.checklist.find((i) => (i as unknown as { key: string }).key === "tests_passing")?.evidence,
    ).toMatchObject({ status: "passed", token: "CI" });
    expect((await t.prisma.changeRequest.findUniqueOrThrow({ where: { id: changeId } })).status).toBe("used");
    expect(await finished(u.rm.client, d.id)).toBe("succeeded");
  });

  it("refuses approvals on a change that has been deployed", async () => {
    const response = await refusal(u.security.client.changes.approve.mutate({ id: changeId }));
    expect(response.status).toBe(409);
    expect(response.message).toBe("The change has been deployed; approvals on it are closed");
  });
});

describe("approval rules", () => {
  it("lapse approvals when the type changes, and need a reason to reject", async () => {
    const releaseId = await release(u.rm.client, serviceId, "2.0.0");
    const cr = (
      await u.rm.client.changes.create.mutate({
        releaseId,
        environmentId: production,
        type: "standard",
        title: "Lapse",
      })
    ).id;
    await u.approver.client.changes.approve.mutate({ id: cr });
    expect((await t.prisma.changeRequest.findUniqueOrThrow({ where: { id: cr } })).status).toBe("approved");
    await u.rm.client.changes.update.mutate({ id: cr, type: "infrastructure" });
    const after = await t.prisma.changeRequest.findUniqueOrThrow({ where: { id: cr } });
    expect(after).toMatchObject({ status: "pending", revision: 2 });
    const noReason = await refusal(u.security.client.changes.reject.mutate({ id: cr }));
    expect(noReason.status).toBe(400);
    expect(noReason.message).toBe("Rejecting a change needs a reason");
    expect(noReason.field).toBe("reason");
    await u.security.client.changes.reject.mutate({ id: cr, reason: "No load test" });
    expect((await t.prisma.changeRequest.findUniqueOrThrow({ where: { id: cr } })).status).toBe("rejected");
  });

  it("requires a performance assessment for a major change", async () => {
    const releaseId = await release(u.rm.client, serviceId, "2.1.0");
    const response = await refusal(
      u.rm.client.changes.create.mutate({ releaseId, environmentId: production, type: "major", title: "Big" }),
    );
    expect(response.status).toBe(400);
    expect(response.message).toBe("A major change needs a performance impact assessment");
    expect(response.field).toBe("performanceAssessment");
  });
});

describe("maintenance windows", () => {
  it("refuse a major change outside a window, naming the next one in the caller's time zone", async () => {
    const releaseId = await throughStaging(u.rm.client, { serviceId, staging }, "3.0.0");
    const cr = (
      await u.rm.client.changes.create.mutate({
        releaseId,
        environmentId: production,
        type: "major",
        title: "Schema rewrite",
        performanceAssessment: "p95 +3 ms",
      })
    ).id;
    await u.approver.client.changes.approve.mutate({ id: cr });
    await completeChecklist(t, u.rm.client, ciToken, { releaseId, environmentId: production });
    // Whatever today is, no window is open unless today is the second Sunday at night in New York.
    const windows = await u.rm.client.maintenance.windows.query({});
    expect(windows.current).toBeNull();
    const response = await refusal(
      u.rm.client.deployments.start.mutate({ releaseId, environmentId: production, timeZone: "Europe/Paris" }),
    );
    expect(response.status).toBe(412);
    const next = new Date(windows.upcoming[0]!.start);
    const day = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Paris",
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
    }).format(next);
    expect(response.message).toContain(
      "Major changes in production may start only inside a maintenance window; the next is ",
    );
    expect(response.field).toBe("type");
    expect(response.message).toContain(`${day}, `);
    expect(response.message).toContain("(Europe/Paris)");
  });

  it.each<[string, Partial<RouterInputs["maintenance"]["createRule"]>, number, string, RegExp]>([
    [
      "longer than two hours",
      { durationMinutes: 180 },
      400,
      "durationMinutes",
      /^Duration in minutes: must be at most 120 minutes/,
    ],
    [
      "an unknown time zone",
      { timezone: "Atlantis/Capital" },
      400,
      "timezone",
      /^Time zone: must be an IANA time zone/,
    ],
    [
      "overlapping the default window",
      { rrule: "FREQ=MONTHLY;BYDAY=+2SU", startTime: "03:00", timezone: "America/New_York", durationMinutes: 60 },
      409,
      "rrule",
      /^The recurrence rule overlaps the window "Monthly maintenance" on /,
    ],
  ])("refuse a rule %s, naming the field, and store nothing", async (_name, change, status, field, message) => {
    const before = await t.prisma.maintenanceWindowRule.count();
    const response = await refusal(
      u.admin.client.maintenance.createRule.mutate({
        name: "Extra",
        timezone: "Europe/Paris",
        rrule: "FREQ=WEEKLY;BYDAY=WE",
        startTime: "22:00",
        durationMinutes: 60,
        ...change,
      }),
    );
    expect(response.status).toBe(status);
    expect(response.message).toMatch(message);
    expect(response.field).toBe(field);
    expect(await t.prisma.maintenanceWindowRule.count()).toBe(before);
  });

  it("send each notice once — in the panel, to the webhook and by e-mail — even when two schedulers run", async () => {
    await u.oncall.client.me.setSubscription.mutate({ topic: "maintenance", subscribed: true });
    // A daily window a few hours from now, at the first time of day the default window (second Sunday,
    // early morning in New York) does not overlap: at 03:00 UTC, three hours on is inside it (409).
    const { start, rule } = await (async () => {
      for (const hours of [3, 7, 11, 15, 19]) {
        const start = new Date(Math.ceil((Date.now() + hours * 3600_000) / 60_000) * 60_000);
        const hh = String(start.getUTCHours()).padStart(2, "0");
        const mm = String(start.getUTCMinutes()).padStart(2, "0");
        const created = await u.admin.client.maintenance.createRule
          .mutate({ name: "Soon", timezone: "UTC", rrule: "FREQ=DAILY", startTime: `${hh}:${mm}`, durationMinutes: 15 })
          .catch((error: unknown) => {
            if (refusalOf(error).status === 409) return null;
            throw error;
          });
        if (created) return { start, rule: created };
      }
      throw new Error("no time of day free of the other windows");
    })();
    // The clock stands 59 minutes before the window: its 1-hour notice is due. Two instances (or a
    // panel and its restart) poll at that moment, twice each.
    const at = new Date(start.getTime() - 59 * 60_000);
    const schedulers = [0, 1].map(
      () =>
        new NoticeScheduler({
          prisma: t.prisma,
          log: t.panel.services.log,
          notifier: t.panel.services.notifier,
          intervalMs: 3_600_000,
          now: () => at,
        }),
    );
    await Promise.all(schedulers.map((s) => s.runOnce()));
    await Promise.all(schedulers.map((s) => s.runOnce()));
    // Exactly one notice: the week's and the day's reminders fell due before the rule existed.
    const notices = await t.prisma.notification.findMany({
      where: { userId: u.oncall.id, kind: "window_notice", title: { contains: "Soon" } },
    });
    expect(notices.map((n) => n.title)).toEqual(["Maintenance window in 1 hour: Soon"]);
    const hookCalls = webhookCalls.filter((c) => c.body.text.includes("in 1 hour: Soon"));
    expect(hookCalls).toHaveLength(1);
    expect(hookCalls[0]!.headers["x-greenlight-notice"]).toMatch(new RegExp(`^window:${rule.id}:`));
    // The notice's key is the webhook's Idempotency-Key: a notice re-sent after a crash carries the same one.
    expect(hookCalls[0]!.headers["idempotency-key"]).toBe(hookCalls[0]!.headers["x-greenlight-notice"]);
    await waitFor(() => smtp.messages.some((m) => m.data.includes("Maintenance window in 1 hour: Soon")), "the e-mail");
    expect(smtp.messages.filter((m) => m.data.includes("Maintenance window in 1 hour: Soon"))).toHaveLength(1);
    await u.admin.client.maintenance.deleteRule.mutate({ id: rule.id });
  });
});

describe("emergency maintenance", () => {
  let emergencyId: string;

  it("may be requested by anyone but not authorised by its requester", async () => {
    emergencyId = (
      await u.oncall.client.maintenance.requestEmergency.mutate({
        reason: "Payments failing",
        impact: "Checkout down",
        plannedActions: "Ship hotfix 4.0.1",
        serviceId,
      })
    ).id;
    const self = await refusal(u.oncall.client.maintenance.authorizeEmergency.mutate({ id: emergencyId }));
    expect(self.status).toBe(403);
    expect(self.message).toBe("You requested this emergency; another CTO or on-call engineer must authorise it");
    const notAllowed = await refusal(u.rm.client.maintenance.authorizeEmergency.mutate({ id: emergencyId }));
    expect(notAllowed.status).toBe(403);
  });

  it("once authorised by the CTO: everyone is told, a review is due in 24 hours, and a deployment bypasses windows, approvals and the promotion order", async () => {
    const before = Date.now();
    const authorised = await u.cto.client.maintenance.authorizeEmergency.mutate({ id: emergencyId, note: "Go" });
    expect(authorised.status).toBe("authorized");
    const due = authorised.review!.dueAt.getTime();
    expect(due - before).toBeGreaterThanOrEqual(24 * 3600_000 - 5000);
    expect(due - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    for (const who of [u.rm, u.approver, u.stakeholder, u.admin]) {
      expect(
        await t.prisma.notification.count({ where: { userId: who.id, kind: "emergency_authorized" } }),
        who.email,
      ).toBe(1);
    }
    const hotfix = await release(u.rm.client, serviceId, "4.0.1");
    const d = await u.rm.client.deployments.start.mutate({ releaseId: hotfix, environmentId: production });
    const deployment = await t.prisma.deployment.findUniqueOrThrow({ where: { id: d.id } });
    expect(deployment).toMatchObject({ emergency: true, emergencyId });
    expect(await finished(u.rm.client, d.id)).toBe("succeeded");
  });

  it("has a review that needs a root cause and follow-ups before sign-off, then takes its timeline from the audit log", async () => {
    const review = await t.prisma.postIncidentReview.findUniqueOrThrow({ where: { emergencyId } });
    const early = await refusal(u.cto.client.maintenance.signOffReview.mutate({ id: review.id }));
    expect(early.status).toBe(412);
    expect(early.message).toBe("A review needs its root cause before sign-off");
    expect(early.field).toBe("rootCause");
    await u.oncall.client.maintenance.updateReview.mutate({
      id: review.id,
      rootCause: "Expired certificate",
      followUps: [{ action: "Alert on certificate expiry", owner: "SRE", due: "next sprint" }],
    });
    await u.cto.client.maintenance.signOffReview.mutate({ id: review.id });
    const signed = await t.prisma.postIncidentReview.findUniqueOrThrow({ where: { id: review.id } });
    const actions = (signed.timeline as { action: string }[]).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "emergency.requested",
        "emergency.authorized",
        "deployment.started",
        "deployment.succeeded",
      ]),
    );
  });

  it("flags and notifies an overdue review once", async () => {
    const second = (
      await u.rm.client.maintenance.requestEmergency.mutate({ reason: "Again", impact: "Some", plannedActions: "Fix" })
    ).id;
    await u.oncall.client.maintenance.authorizeEmergency.mutate({ id: second });
    const review = await t.prisma.postIncidentReview.findUniqueOrThrow({ where: { emergencyId: second } });
    const later = new Date(review.dueAt.getTime() + 60_000);
    const scheduler = new NoticeScheduler({
      prisma: t.prisma,
      log: t.panel.services.log,
      notifier: t.panel.services.notifier,
      intervalMs: 3_600_000,
      now: () => later,
    });
    await scheduler.runOnce();
    await scheduler.runOnce();
    expect(await t.prisma.notification.count({ where: { userId: u.rm.id, kind: "review_overdue" } })).toBe(1);
    const overdue = await u.rm.client.maintenance.overdueReviews.query();
    expect(overdue).toEqual([]); // not yet: it is only overdue a day from now
  });
});

describe("checklist evidence from CI", () => {
  it.each<[string, string | null, number, RegExp]>([
    ["no token", null, 401, /an API token is required/],
    ["an unknown token", "glt_nope", 401, /the API token is not valid/],
  ])("is refused with %s, and the attempt audited", async (_name, token, status, message) => {
    const releaseId = (await t.prisma.release.findFirstOrThrow({ where: { serviceId } })).id;
    const before = await t.prisma.auditEvent.count({ where: { action: "api_token.refused" } });
    const response = await postEvidence(releaseId, token, { item: "tests_passing", status: "passed" });
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: string }).error).toMatch(message);
    expect(await t.prisma.auditEvent.count({ where: { action: "api_token.refused" } })).toBe(before + 1);
  });

  it("is refused with a revoked token, for an unknown release, and for an unknown item", async () => {
    const { id, token } = await u.rm.client.tokens.create.mutate({
      serviceId,
      name: "Old CI",
      scopes: ["evidence:write"],
      expiresInDays: 30,
    });
    await u.rm.client.tokens.revoke.mutate({ id });
    const releaseId = await release(u.rm.client, serviceId, "5.0.0");
    const revoked = await postEvidence(releaseId, token, { item: "tests_passing", status: "passed" });
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { error: string }).error).toBe('the API token "Old CI" was revoked');
    const unknown = await postEvidence("00000000-0000-4000-8000-000000000000", ciToken, {
      item: "tests_passing",
      status: "passed",
    });
    expect(unknown.status).toBe(404);
    const badItem = await postEvidence(releaseId, ciToken, { item: "code_review", status: "passed" });
    expect(badItem.status).toBe(400);
    expect(await badItem.json()).toEqual({
      error: 'The checklist item "code_review" is not an automatic checklist item of 5.0.0',
      field: "item",
    });
    const badStatus = await postEvidence(releaseId, ciToken, { item: "tests_passing", status: "green" });
    expect(badStatus.status).toBe(400);
    expect(await badStatus.json()).toEqual({ error: "Status: must be passed or failed", field: "status" });
  });

  it("stores only the token's hash", async () => {
    const rows = await t.prisma.serviceApiToken.findMany();
    expect(rows.every((r) => !r.tokenHash.includes(ciToken) && r.tokenHash.length === 64)).toBe(true);
  });
});

describe("security events", () => {
  it("raise a live alert to administrators after a burst of failed sign-ins", async () => {
    for (let i = 0; i < 5; i++)
      await postCredentials(t.url, `intruder${i}@example.test`, "guess", { "X-Forwarded-For": "203.0.113.9" });
    await waitFor(
      async () => (await t.prisma.notification.count({ where: { userId: u.admin.id, kind: "security_alert" } })) === 1,
      "the admin's security alert",
    );
    const alert = await t.prisma.notification.findFirstOrThrow({
      where: { userId: u.admin.id, kind: "security_alert" },
    });
    expect(alert.body).toBe("5 failed sign-ins in a minute from 203.0.113.9");
  });
});

describe("surveys", () => {
  it("rate a succeeded production deployment from 1 to 5; the 30-day average is shown against 4.5", async () => {
    const deployment = await t.prisma.deployment.findFirstOrThrow({
      where: { environmentId: production, status: "succeeded" },
    });
    const bad = await refusal(u.stakeholder.client.surveys.submit.mutate({ deploymentId: deployment.id, rating: 6 }));
    expect(bad.status).toBe(400);
    expect(bad.message).toBe("Rating: must be a whole number from 1 to 5");
    expect(bad.field).toBe("rating");
    await u.stakeholder.client.surveys.submit.mutate({ deploymentId: deployment.id, rating: 5, comment: "Smooth" });
    await u.approver.client.surveys.submit.mutate({ deploymentId: deployment.id, rating: 4 });
    expect(
      (await refusal(u.auditor.client.surveys.submit.mutate({ deploymentId: deployment.id, rating: 5 }))).status,
    ).toBe(403);
    const summary = await u.auditor.client.surveys.summary.query();
    expect(summary).toEqual({ average: 4.5, responses: 2, target: 4.5, meetsTarget: true });
  });
});
