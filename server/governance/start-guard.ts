/**
 * What governance asks of a deployment before it starts, and while it runs.
 *
 * Production: an approved change request for this release and environment, every required
 * checklist item complete, and — for change types the policy says need one — a maintenance window,
 * with more than 30 minutes of it left. An authorised emergency covering the environment replaces
 * all of that (and the promotion order), but what held is recorded all the same: an approved change
 * request is used, and the checklist and an open window are kept as they stood.
 */
import { recordAudit } from "../audit/record.ts";
import { ROLE_LABELS } from "../auth/roles.ts";
import type { Prisma } from "../db/generated/client.ts";
import { preconditionFailed } from "../errors.ts";
import type { StartContext, StartGuardResult } from "../releases/commands.ts";
import { evaluateApprovals, type ApprovalRecord } from "./approval-policy.ts";
import { CHANGE_TYPE_LABELS, policyFor, type ChangeType } from "./change-requests.ts";
import { itemsFor } from "./checklist.ts";
import { describeWindow, nextWindows, STEP_CUTOFF_MINUTES, stepCutoff, windowAt, type WindowRule } from "./windows.ts";

export interface GovernanceSnapshot {
  changeRequest: {
    id: string;
    type: ChangeType;
    title: string;
    revision: number;
    requestedBy: { email: string; name: string };
  } | null;
  approvals: {
    role: string;
    approver: { email: string; name: string };
    decision: string;
    reason: string | null;
    at: string;
  }[];
  checklist: {
    key: string;
    title: string;
    kind: string;
    required: boolean;
    done: boolean;
    note: string | null;
    link: string | null;
    completedBy: { email: string; name: string } | null;
    completedAt: string | null;
    evidence: unknown;
  }[];
  window: { name: string; start: string; end: string } | null;
  emergency: { id: string; authorizedBy: { email: string; name: string } | null; reason: string } | null;
}

async function loadRules(tx: Prisma.TransactionClient): Promise<WindowRule[]> {
  return tx.maintenanceWindowRule.findMany({ where: { active: true } });
}

const person = (u: { email: string; name: string } | null | undefined) => (u ? { email: u.email, name: u.name } : null);

type CandidateChange = Awaited<ReturnType<typeof findChange>>;

/** The change request a production start of this release would use: the latest one still open. */
async function findChange(tx: Prisma.TransactionClient, releaseId: string, environmentId: string) {
  const candidates = await tx.changeRequest.findMany({
    where: { releaseId, environmentId, status: { in: ["pending", "approved", "rejected"] }, deploymentId: null },
    include: { approvals: { include: { approver: true } }, requestedBy: true },
    orderBy: { createdAt: "desc" },
  });
  return candidates[0] ?? null;
}

function changeRecord(cr: NonNullable<CandidateChange>): Pick<GovernanceSnapshot, "changeRequest" | "approvals"> {
  return {
    changeRequest: {
      id: cr.id,
      type: cr.type,
      title: cr.title,
      revision: cr.revision,
      requestedBy: { email: cr.requestedBy.email, name: cr.requestedBy.name },
    },
    approvals: cr.approvals
      .filter((a) => a.revision === cr.revision)
      .map((a) => ({
        role: a.role,
        approver: { email: a.approver.email, name: a.approver.name },
        decision: a.decision,
        reason: a.reason,
        at: a.createdAt.toISOString(),
      })),
  };
}

async function checklistRecord(
  tx: Prisma.TransactionClient,
  items: Awaited<ReturnType<typeof itemsFor>>,
): Promise<GovernanceSnapshot["checklist"]> {
  const completers = await tx.user.findMany({
    where: { id: { in: items.map((i) => i.completedById).filter((x): x is string => Boolean(x)) } },
  });
  return items.map((i) => ({
    key: i.key,
    title: i.title,
    kind: i.kind,
    required: i.required,
    done: i.done,
    note: i.note,
    link: i.link,
    completedBy: person(completers.find((u) => u.id === i.completedById)),
    completedAt: i.completedAt?.toISOString() ?? null,
    evidence: i.evidence,
  }));
}

/** Marks the change request used by the deployment, audited in the start's transaction. */
function useChange(context: StartContext, changeRequestId: string): StartGuardResult["afterCreate"] {
  return async (tx, deploymentId) => {
    await tx.changeRequest.update({ where: { id: changeRequestId }, data: { status: "used", deploymentId } });
    await recordAudit(tx, context.actor, {
      action: "change.used",
      entityType: "ChangeRequest",
      entityId: changeRequestId,
      environmentId: context.environment.id,
      after: { deploymentId },
    });
  };
}

async function approvalsOf(tx: Prisma.TransactionClient, cr: NonNullable<CandidateChange>) {
  const policy = await policyFor(tx, cr.type);
  const records: ApprovalRecord[] = cr.approvals.map((a) => ({
    approverId: a.approverId,
    role: a.role,
    decision: a.decision as ApprovalRecord["decision"],
    revision: a.revision,
  }));
  return {
    policy,
    evaluation: evaluateApprovals({
      requiredRoles: policy.requiredRoles,
      requesterId: cr.requestedById,
      revision: cr.revision,
      approvals: records,
    }),
  };
}

/**
 * Under an authorised emergency nothing is required, but the record says what held all the same:
 * the change request and its approvals (an approved one is used by this deployment), the checklist
 * as it stood, and the window if one was open.
 */
async function emergencyStart(
  tx: Prisma.TransactionClient,
  context: StartContext,
  emergencyId: string,
  now: Date,
): Promise<StartGuardResult> {
  const { environment, release } = context;
  const emergency = await tx.emergencyRequest.findUniqueOrThrow({ where: { id: emergencyId } });
  const authorizer = emergency.decidedById ? await tx.user.findUnique({ where: { id: emergency.decidedById } }) : null;
  const snapshot: GovernanceSnapshot = {
    changeRequest: null,
    approvals: [],
    checklist: [],
    window: null,
    emergency: { id: emergency.id, authorizedBy: person(authorizer), reason: emergency.reason },
  };
  if (!environment.production) return { governance: snapshot };
  const cr = await findChange(tx, release.id, environment.id);
  const approved = cr ? (await approvalsOf(tx, cr)).evaluation.status === "approved" : false;
  if (cr) Object.assign(snapshot, changeRecord(cr));
  snapshot.checklist = await checklistRecord(tx, await itemsFor(tx, release.id, environment));
  const current = windowAt(await loadRules(tx), environment.serviceId, now);
  if (current)
    snapshot.window = { name: current.name, start: current.start.toISOString(), end: current.end.toISOString() };
  if (!cr || !approved) return { governance: snapshot };
  return { changeRequestId: cr.id, governance: snapshot, afterCreate: useChange(context, cr.id) };
}

export async function governanceGuard(
  tx: Prisma.TransactionClient,
  context: StartContext,
  now = new Date(),
): Promise<StartGuardResult | void> {
  const { environment, release } = context;
  if (context.emergencyId) return emergencyStart(tx, context, context.emergencyId, now);
  if (!environment.production) return;

  const cr = await findChange(tx, release.id, environment.id);
  if (!cr)
    throw preconditionFailed(
      `A production deployment needs an approved change request; there is none for release ${release.version} in ${environment.name}`,
      "releaseId",
    );
  const { policy, evaluation } = await approvalsOf(tx, cr);
  if (evaluation.status === "rejected")
    throw preconditionFailed(
      `The change request "${cr.title}" was rejected${cr.rejectionReason ? `: ${cr.rejectionReason}` : ""}`,
      "changeRequest",
    );
  if (evaluation.status !== "approved") {
    throw preconditionFailed(
      `The change request "${cr.title}" still needs approval from ${evaluation.missing.map((r) => `a ${ROLE_LABELS[r].toLowerCase()}`).join(" and ")}`,
      "changeRequest",
    );
  }

  const items = await itemsFor(tx, release.id, environment);
  const missing = items.filter((i) => i.required && !i.done).map((i) => i.title);
  if (missing.length > 0)
    throw preconditionFailed(`Required checklist items are not complete: ${missing.join("; ")}`, "checklist");

  let window: GovernanceSnapshot["window"] = null;
  if (policy.requiresWindow) {
    const rules = await loadRules(tx);
    const current = windowAt(rules, environment.serviceId, now);
    const label = `${CHANGE_TYPE_LABELS[cr.type]} changes in production may start only inside a maintenance window`;
    const next = () => {
      const upcoming = nextWindows(rules, environment.serviceId, now, 1)[0];
      return upcoming
        ? `the next is ${describeWindow(upcoming, context.timeZone)}`
        : "no window is scheduled; an administrator can add one on the Maintenance page";
    };
    if (!current) throw preconditionFailed(`${label}; ${next()}`, "type");
    if (now >= stepCutoff(current))
      throw preconditionFailed(
        `${label}, and fewer than ${STEP_CUTOFF_MINUTES} minutes of this one are left; ${next()}`,
        "type",
      );
    window = { name: current.name, start: current.start.toISOString(), end: current.end.toISOString() };
  }

  const snapshot: GovernanceSnapshot = {
    ...changeRecord(cr),
    checklist: await checklistRecord(tx, items),
    window,
    emergency: null,
  };
  return { changeRequestId: cr.id, governance: snapshot, afterCreate: useChange(context, cr.id) };
}

/**
 * While it runs: a deployment that started inside a maintenance window starts no new traffic step
 * in the window's last 30 minutes, so a rollback always fits inside it.
 */
export function windowStepHold(governance: unknown, now = new Date()): string | null {
  const window = (governance as GovernanceSnapshot | null)?.window;
  if (!window) return null;
  const cutoff = stepCutoff({ end: new Date(window.end) });
  if (now < cutoff) return null;
  return `Holding: no new traffic step starts in the last ${STEP_CUTOFF_MINUTES} minutes of the maintenance window "${window.name}" (it ends at ${window.end}). Roll back, or promote in the next window.`;
}
