/**
 * What people ask of deployments: start one, pause, resume, promote now, roll back, abort. Each is
 * one transaction that checks the state machine, changes the row only if nobody else changed it
 * first (so of two conflicting commands exactly one wins; the other gets a 409 saying why), appends
 * to the timeline and writes the audit event.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Prisma, PrismaClient } from "../db/generated/client.ts";
import { conflict, DomainError, notFound, preconditionFailed } from "../errors.ts";
import { otherSlot } from "../targets/driver.ts";
import { releaseInEnvironment } from "./catalog.ts";
import { readPolicy } from "./policy.ts";
import { assertTransition, commandRefusal, type Command } from "./state-machine.ts";
import { appendEvent } from "./timeline.ts";

export const startDeploymentInput = z.object({
  releaseId: z.string().uuid("must be a release id"),
  environmentId: z.string().uuid("must be an environment id"),
  /** The caller's IANA time zone, so refusals name times the way the caller reads them. */
  timeZone: z
    .string()
    .max(64, "must be at most 64 characters")
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, "must be an IANA time zone such as Europe/Paris")
    .optional(),
});

export const commandInput = z.object({
  deploymentId: z.string().uuid("must be a deployment id"),
  /** The commandVersion the caller saw; a command given on an outdated view is refused (409). */
  expectedCommandVersion: z.number().int().min(0).optional(),
  reason: z.string().trim().max(500, "must be at most 500 characters").optional(),
});

/**
 * Checks that must hold before a deployment may start, beyond the engine's own (governance adds
 * approvals, checklists, maintenance windows and emergencies here). A check throws a DomainError to
 * refuse, or returns what it found: the change record to keep with the deployment, and work to do
 * once the deployment exists.
 */
export type StartGuard = (tx: Prisma.TransactionClient, context: StartContext) => Promise<StartGuardResult | void>;

export interface StartGuardResult {
  changeRequestId?: string;
  governance?: unknown;
  afterCreate?: (tx: Prisma.TransactionClient, deploymentId: string) => Promise<void>;
}

export interface StartContext {
  actor: Actor;
  release: { id: string; version: string; serviceId: string };
  environment: { id: string; name: string; position: number; production: boolean; serviceId: string };
  /** The caller's time zone, for messages that name a time. */
  timeZone: string;
  /** The authorised emergency this deployment runs under, if any. */
  emergencyId: string | null;
}

export interface StartOptions {
  guards?: StartGuard[];
  /** Finds an authorised emergency covering the environment: it lifts the promotion order. */
  emergencyFor?: (
    tx: Prisma.TransactionClient,
    environment: { id: string; serviceId: string },
  ) => Promise<{ id: string } | null>;
  timeZone?: string;
  /** Validates the environment's target configuration (a deployment never starts on an invalid one). */
  validateTarget?: (target: string, config: unknown) => string | null;
}

const UNIQUE_VIOLATION = "P2002";

export async function startDeployment(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof startDeploymentInput>,
  options: StartOptions = {},
) {
  try {
    return await prisma.$transaction(async (tx) => {
      const { environment, release } = await releaseInEnvironment(tx, input);
      const targetProblem = options.validateTarget?.(environment.target, environment.targetConfig);
      // Not governance: nothing a person approves or ticks lets it start, so a 409 (the CLI says "could not start", not "refused").
      if (targetProblem)
        throw conflict(`The ${environment.name} target configuration is invalid: ${targetProblem}`, "environmentId");

      const active = await tx.deployment.findUnique({
        where: { activeEnvironmentId: environment.id },
        include: { release: true },
      });
      if (active)
        throw conflict(
          `The environment ${environment.name} already has an active deployment (${active.release.version}, ${active.status.replace(/_/g, " ")})`,
          "environmentId",
        );
      if (environment.liveReleaseId === release.id)
        throw conflict(`Release ${release.version} is already live in ${environment.name}`, "releaseId");

      const emergencyId = (await options.emergencyFor?.(tx, environment))?.id ?? null;
      const emergency = emergencyId !== null;
      const previous = await tx.environment.findFirst({
        where: { serviceId: environment.serviceId, position: { lt: environment.position } },
        orderBy: { position: "desc" },
      });
      const promotedThrough = previous
        ? (await tx.deployment.findFirst({
            where: { environmentId: previous.id, releaseId: release.id, status: "succeeded" },
          })) !== null
        : true;
      if (previous && !promotedThrough && !emergency)
        throw preconditionFailed(
          `Release ${release.version} has not succeeded in ${previous.name} yet; promote it there first`,
          "releaseId",
        );
      // An emergency lifts the order; the record says it was bypassed only when it really was.
      const promotionOrderBypassed = !promotedThrough;
      const context: StartContext = { actor, release, environment, timeZone: options.timeZone ?? "UTC", emergencyId };
      const found: StartGuardResult = {};
      // Each guard's follow-up work runs; a later guard's does not replace an earlier one's.
      const afterCreates: NonNullable<StartGuardResult["afterCreate"]>[] = [];
      for (const guard of options.guards ?? []) {
        const result = (await guard(tx, context)) ?? {};
        if (result.afterCreate) afterCreates.push(result.afterCreate);
        Object.assign(found, result);
      }

      const targetSlot = otherSlot(environment.liveSlot);
      const policy = readPolicy(environment.policy, environment.production);
      const deployment = await tx.deployment.create({
        data: {
          releaseId: release.id,
          environmentId: environment.id,
          activeEnvironmentId: environment.id,
          status: "preparing",
          targetSlot,
          fromSlot: environment.liveSlot,
          fromReleaseId: environment.liveReleaseId,
          policy: policy,
          emergency,
          emergencyId,
          changeRequestId: found.changeRequestId ?? null,
          governance: found.governance ?? undefined,
          startedById: actor.userId,
        },
      });
      for (const afterCreate of afterCreates) await afterCreate(tx, deployment.id);
      // The idle slot is about to be reused: a pending scale-down of it no longer applies.
      if (environment.scaleDownSlot === targetSlot)
        await tx.environment.update({
          where: { id: environment.id },
          data: { scaleDownSlot: null, scaleDownAt: null },
        });
      await appendEvent(tx, deployment.id, {
        kind: "created",
        message: `${actor.email ?? "Someone"} started ${release.version} in ${environment.name}${emergency ? (promotionOrderBypassed ? " (emergency: promotion order bypassed)" : " (under an authorised emergency; promotion order held)") : ""}`,
        data: { targetSlot, fromSlot: environment.liveSlot, steps: policy.steps, emergency, promotionOrderBypassed },
      });
      await recordAudit(tx, actor, {
        action: "deployment.started",
        entityType: "Deployment",
        entityId: deployment.id,
        serviceId: environment.serviceId,
        environmentId: environment.id,
        after: {
          service: environment.service.slug,
          environment: environment.name,
          release: release.version,
          targetSlot,
          emergency,
          emergencyId,
          promotionOrderBypassed,
          changeRequestId: found.changeRequestId ?? null,
        },
      });
      return deployment;
    });
  } catch (error) {
    // Two starts raced past the check above: the unique index decided.
    if ((error as { code?: string }).code === UNIQUE_VIOLATION)
      throw conflict("The environment already has an active deployment", "environmentId");
    throw error;
  }
}

const COMMAND_VERBS: Record<Command, string> = {
  pause: "paused",
  resume: "resumed",
  promote: "promoted",
  rollback: "rolled back",
  abort: "aborted",
};

export async function runCommand(
  prisma: PrismaClient,
  actor: Actor,
  command: Command,
  input: z.infer<typeof commandInput>,
) {
  return prisma.$transaction(async (tx) => {
    const d = await tx.deployment.findUnique({ where: { id: input.deploymentId }, include: { release: true } });
    if (!d) throw notFound(`Deployment ${input.deploymentId}`);
    if (input.expectedCommandVersion !== undefined && input.expectedCommandVersion !== d.commandVersion) {
      throw conflict(
        `The deployment changed since you looked (it is now ${d.status.replace(/_/g, " ")}); ${command} was not applied`,
      );
    }
    const refusal = commandRefusal(command, d);
    if (refusal) throw conflict(refusal);

    const now = new Date();
    let data: Prisma.DeploymentUpdateManyMutationInput;
    switch (command) {
      case "pause":
        data = { status: "paused", pausedFrom: d.status, pausedAt: now };
        break;
      case "resume": {
        // The bake and validation clocks stand still while paused.
        const pausedMs = d.pausedAt ? now.getTime() - d.pausedAt.getTime() : 0;
        data = {
          status: d.pausedFrom ?? "preparing",
          pausedFrom: null,
          pausedAt: null,
          phaseStartedAt: new Date(d.phaseStartedAt.getTime() + pausedMs),
          stepReachedAt: d.stepReachedAt ? new Date(d.stepReachedAt.getTime() + pausedMs) : null,
        };
        break;
      }
      case "promote":
        data = { skipBake: true };
        break;
      case "rollback":
        data = {
          status: "rolling_back",
          outcome: "rolled_back",
          breachAt: now,
          rollbackReason: { kind: "manual", by: actor.email, reason: input.reason ?? null },
        };
        break;
      case "abort": {
        data = {
          status: "rolling_back",
          outcome: "aborted",
          failureReason: input.reason ?? `aborted by ${actor.email}`,
        };
        break;
      }
    }
    // Every status a command sets is a transition of the table (state-machine.ts), checked like the reconciler's.
    if (typeof data.status === "string") assertTransition(d.status, data.status);
    const { count } = await tx.deployment.updateMany({
      where: { id: d.id, status: d.status, commandVersion: d.commandVersion },
      data: { ...data, version: { increment: 1 }, commandVersion: { increment: 1 } },
    });
    if (count === 0) {
      const now2 = await tx.deployment.findUnique({ where: { id: d.id } });
      throw conflict(
        `Another command changed the deployment first (it is now ${now2?.status.replace(/_/g, " ") ?? "gone"}); ${command} was not applied`,
      );
    }
    await appendEvent(tx, d.id, {
      kind: `command_${command}`,
      message: `${actor.email ?? "Someone"} ${COMMAND_VERBS[command]} the deployment${input.reason ? `: ${input.reason}` : ""}`,
      data: { from: d.status, reason: input.reason ?? null },
    });
    await recordAudit(tx, actor, {
      action: `deployment.${command}`,
      entityType: "Deployment",
      entityId: d.id,
      before: { status: d.status, stepIndex: d.stepIndex },
      after: { status: "status" in data ? data.status : d.status, reason: input.reason ?? null },
    });
    return tx.deployment.findUniqueOrThrow({ where: { id: d.id } });
  });
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
