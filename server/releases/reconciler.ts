/**
 * The reconciler: the effectful shell around `decide` (plan.ts). For every active deployment whose
 * lease this instance holds, a pass observes the target, evaluates the gates, takes at most one
 * idempotent action and persists what changed — status, timeline event and audit event in one
 * transaction, written only if the row is unchanged since the pass read it. Nothing is remembered
 * in memory that cannot be re-read: a panel killed mid-pass carries on from the database.
 *
 * Leases: a deployment is driven by the instance whose lease on the row is current. Leases are
 * renewed every second; an expired lease, or one held by a dead process on this host, is taken over.
 */
import os from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { systemActor, type Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Deployment, Environment, Prisma, PrismaClient, Release, Service } from "../db/generated/client.ts";
import type { PanelEvents } from "../realtime/events.ts";
import { newTraceId } from "../telemetry/context.ts";
import type { EnvironmentRef, ReleaseRef, TargetDriver, WindowMetrics } from "../targets/driver.ts";
import { computeFigures, secondsWithoutSuccess } from "./figures.ts";
import { evaluateGates, type Baseline, type GateResult } from "./gates.ts";
import { rollbackHooksSchema, runRollbackHook } from "./hooks.ts";
import { afterSmoke, decide, effectiveSteps, type Action, type DeploymentSnapshot, type SmokeRound } from "./plan.ts";
import { readPolicy } from "./policy.ts";
import { runSmokeChecks } from "./smoke.ts";
import { assertTransition, isTerminal, type DeploymentStatus } from "./state-machine.ts";
import { appendEvent } from "./timeline.ts";

type LoadedDeployment = Deployment & { release: Release; environment: Environment & { service: Service } };

export interface ReconcilerOptions {
  prisma: PrismaClient;
  log: Logger;
  events: PanelEvents;
  drivers: (kind: "local" | "ecs") => TargetDriver;
  /** Lease length; renewed every second while the instance lives. */
  leaseMs?: number;
  /** Consecutive failed passes (driver errors) before the deployment is paused with the error shown. */
  errorBudget?: number;
  now?: () => Date;
  /** Why a deployment may not start a new traffic step now (governance: the end of a window). */
  stepHold?: (deployment: { governance: unknown }, now: Date) => string | null;
}

class StaleDeployment extends Error {}

export function environmentRef(env: Environment & { service: Service }): EnvironmentRef {
  return { id: env.id, serviceSlug: env.service.slug, name: env.name, target: env.target, targetConfig: env.targetConfig };
}

export function releaseRef(release: Release): ReleaseRef {
  return { id: release.id, version: release.version, artifact: release.artifact, settings: (release.settings ?? {}) as Record<string, unknown> };
}

function snapshot(d: LoadedDeployment): DeploymentSnapshot {
  const hooks = rollbackHooksSchema.safeParse(d.environment.rollbackHooks);
  return {
    id: d.id,
    status: d.status,
    releaseId: d.releaseId,
    releaseVersion: d.release.version,
    fromReleaseId: d.fromReleaseId,
    targetSlot: d.targetSlot,
    fromSlot: d.fromSlot,
    policy: readPolicy(d.policy, d.environment.production),
    stepIndex: d.stepIndex,
    stepReachedAt: d.stepReachedAt,
    phaseStartedAt: d.phaseStartedAt,
    skipBake: d.skipBake,
    smokeAttempt: d.smokeAttempt,
    baseline: (d.baseline as Baseline | null) ?? null,
    breachAt: d.breachAt,
    rollbackCompletedAt: d.rollbackCompletedAt,
    rollbackHooksRanAt: d.rollbackHooksRanAt,
    outcome: d.outcome,
    hasRollbackHooks: hooks.success && hooks.data.length > 0,
  };
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

export class Reconciler {
  readonly instanceId = `${os.hostname()}#${process.pid}#${randomBytes(4).toString("hex")}`;
  private readonly prisma: PrismaClient;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly errorBudget: number;
  private readonly now: () => Date;
  private owned = new Set<string>();
  private running = new Map<string, Promise<void>>();
  private nextPassAt = new Map<string, number>();
  private failures = new Map<string, number>();
  private lastDetail = new Map<string, string>();
  private lastGates = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = true;

  constructor(private readonly options: ReconcilerOptions) {
    this.prisma = options.prisma;
    this.log = options.log;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.errorBudget = options.errorBudget ?? 8;
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    this.stopped = false;
    const claim = () => void this.claimLeases().catch((error) => this.log.warn({ action: "reconciler.lease_error", metadata: { error } }, "Could not claim leases"));
    claim();
    this.timers.push(setInterval(claim, 1000), setInterval(() => this.runDuePasses(), 50));
    this.timers.push(setInterval(() => void this.housekeeping().catch((error) => this.log.warn({ action: "reconciler.housekeeping_error", metadata: { error } }, "Housekeeping failed")), 1000));
  }

  /** Stops driving deployments and hands the leases back so another instance can carry on at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.running.values()]);
    await this.prisma.deployment.updateMany({ where: { leaseOwner: this.instanceId }, data: { leaseOwner: null, leaseExpiresAt: null } }).catch(() => {});
    this.owned.clear();
  }

  /** Runs a pass for this deployment as soon as possible (after a command or a start). */
  kick(deploymentId: string): void {
    this.nextPassAt.set(deploymentId, 0);
    if (!this.owned.has(deploymentId)) void this.claimLeases().catch(() => {});
  }

  private async claimLeases(): Promise<void> {
    if (this.stopped) return;
    const dead = await this.deadOwnersOnThisHost();
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "Deployment"
      SET "leaseOwner" = ${this.instanceId}, "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseMs / 1000})
      WHERE "activeEnvironmentId" IS NOT NULL
        AND ("leaseOwner" IS NULL OR "leaseOwner" = ${this.instanceId} OR "leaseExpiresAt" < now() OR "leaseOwner" = ANY(${dead}::text[]))
      RETURNING id`;
    const ids = new Set(rows.map((r) => r.id));
    for (const id of ids) if (!this.owned.has(id)) this.nextPassAt.set(id, 0);
    for (const id of this.owned) if (!ids.has(id)) this.forget(id);
    this.owned = ids;
  }

  /** Owners of live leases that are processes on this host which no longer exist (a killed panel). */
  private async deadOwnersOnThisHost(): Promise<string[]> {
    const prefix = `${os.hostname()}#`;
    const owners = await this.prisma.deployment.findMany({
      where: { activeEnvironmentId: { not: null }, leaseOwner: { startsWith: prefix, not: this.instanceId } },
      select: { leaseOwner: true },
      distinct: ["leaseOwner"],
    });
    return owners
      .map((o) => o.leaseOwner!)
      .filter((owner) => {
        const pid = Number(owner.split("#")[1]);
        if (!pid) return false;
        try {
          process.kill(pid, 0);
          return false;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === "ESRCH";
        }
      });
  }

  private forget(id: string): void {
    this.nextPassAt.delete(id);
    this.failures.delete(id);
    this.lastDetail.delete(id);
    this.lastGates.delete(id);
  }

  private runDuePasses(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const id of this.owned) {
      if (this.running.has(id) || (this.nextPassAt.get(id) ?? 0) > now) continue;
      const pass = this.pass(id)
        .then((retryInMs) => {
          this.failures.delete(id);
          this.nextPassAt.set(id, Date.now() + retryInMs);
        })
        .catch((error: unknown) => this.onPassError(id, error))
        .finally(() => this.running.delete(id));
      this.running.set(id, pass);
    }
  }

  private async onPassError(id: string, error: unknown): Promise<void> {
    if (error instanceof StaleDeployment) {
      this.nextPassAt.set(id, Date.now());
      return;
    }
    const count = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, count);
    const message = (error as Error).message ?? String(error);
    this.log.warn({ action: "reconciler.pass_failed", metadata: { deploymentId: id, attempt: count, error: message } }, `Deployment pass failed (${count}/${this.errorBudget}): ${message}`);
    // Backoff with jitter: 250 ms, 500 ms, 1 s, … up to 8 s.
    this.nextPassAt.set(id, Date.now() + Math.min(8000, 250 * 2 ** (count - 1)) * (0.75 + Math.random() * 0.5));
    await this.setDetail(id, `Retrying after an error (${count}/${this.errorBudget}): ${message}`).catch(() => {});
    if (count >= this.errorBudget) {
      await this.pauseOnErrors(id, message).catch((e) => this.log.error({ action: "reconciler.pause_failed", metadata: { error: e } }, "Could not pause"));
      this.failures.delete(id);
    }
  }

  /** Past the retry budget the deployment pauses with the error shown; a person resumes it. */
  private async pauseOnErrors(id: string, message: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const d = await tx.deployment.findUnique({ where: { id } });
      if (!d || !["preparing", "deploying_green", "smoke_testing", "shifting", "validating"].includes(d.status)) return;
      const { count } = await tx.deployment.updateMany({
        where: { id, version: d.version },
        data: { status: "paused", pausedFrom: d.status, pausedAt: this.now(), statusDetail: `Paused after repeated errors: ${message}`, version: { increment: 1 }, commandVersion: { increment: 1 } },
      });
      if (!count) return;
      await appendEvent(tx, id, { kind: "paused_on_errors", message: `Paused after ${this.errorBudget} failed attempts: ${message}. Resume to try again.`, data: { error: message } });
      await recordAudit(tx, this.actor(), { action: "deployment.paused", entityType: "Deployment", entityId: id, before: { status: d.status }, after: { status: "paused", error: message } });
    });
    this.changed(id);
  }

  private actor(): Actor {
    return { ...systemActor(newTraceId()), email: "reconciler" };
  }

  private async load(id: string): Promise<LoadedDeployment | null> {
    return this.prisma.deployment.findUnique({ where: { id }, include: { release: true, environment: { include: { service: true } } } });
  }

  /** One pass over one deployment. Returns how long to wait before the next pass. */
  private async pass(id: string): Promise<number> {
    const d = await this.load(id);
    if (!d || isTerminal(d.status) || d.leaseOwner !== this.instanceId) {
      this.owned.delete(id);
      this.forget(id);
      return 1000;
    }
    const env = environmentRef(d.environment);
    const driver = this.options.drivers(d.environment.target);
    const snap = snapshot(d);
    const now = this.now();
    const observed = await driver.observe(env);

    let gates: GateResult[] | null = null;
    let metrics: WindowMetrics | null = null;
    const windowStart = d.status === "shifting" ? d.stepReachedAt : d.status === "validating" ? d.phaseStartedAt : null;
    if (windowStart) {
      metrics = await driver.metrics(env, { from: windowStart, to: now });
      gates = evaluateGates(snap.policy.gates, { green: metrics.slots[d.targetSlot], live: metrics.slots[d.fromSlot], baseline: snap.baseline, complete: metrics.complete });
    }

    const stepHold = this.options.stepHold?.(d, now) ?? null;
    const action = decide(snap, { observed, gates, metrics, now, stepHold });
    return this.execute(d, snap, action, { env, driver, metrics, now });
  }

  private async execute(
    d: LoadedDeployment,
    snap: DeploymentSnapshot,
    action: Action,
    ctx: { env: EnvironmentRef; driver: TargetDriver; metrics: WindowMetrics | null; now: Date },
  ): Promise<number> {
    switch (action.kind) {
      case "wait":
        await this.setDetail(d.id, action.reason);
        if (action.gates) await this.recordGatesIfChanged(d, action.gates, ctx.now);
        return action.retryInMs;
      case "ensureRelease":
        await this.setDetail(d.id, `Deploying ${d.release.version} to ${action.slot}`);
        await ctx.driver.ensureRelease(ctx.env, action.slot, releaseRef(d.release));
        return 250;
      case "setWeights":
        await ctx.driver.setWeights(ctx.env, action.weights);
        this.options.events.emit(`env:${d.environmentId}`, "weights", { environmentId: d.environmentId, weights: action.weights });
        return 0;
      case "scaleDown":
        await ctx.driver.scale(ctx.env, action.slot, 0);
        return 100;
      case "runSmoke":
        return this.runSmoke(d, snap, action.round, ctx);
      case "runRollbackHooks":
        return this.runHooks(d, ctx.now);
      case "transition":
        await this.persist(d, action, ctx);
        return 0;
    }
  }

  private async runSmoke(d: LoadedDeployment, snap: DeploymentSnapshot, round: SmokeRound, ctx: { env: EnvironmentRef; driver: TargetDriver; now: Date }): Promise<number> {
    await this.setDetail(d.id, `Running ${snap.policy.smokeTests.length} smoke tests ${round === "pre_traffic" ? "before traffic" : "at 100%"}`);
    // With no checks there is nothing to reach: a target need not expose the slot directly.
    const outcomes = snap.policy.smokeTests.length === 0 ? [] : await runSmokeChecks(await ctx.driver.slotUrl(ctx.env, d.targetSlot), snap.policy.smokeTests);
    const failed = outcomes.filter((o) => !o.ok).map((o) => `${o.name} (${o.detail})`);
    const next = afterSmoke(snap, round, failed, this.now());
    if (next.kind !== "transition") return 0;
    await this.persist(d, next, { ...ctx, metrics: null }, async (tx) => {
      await tx.smokeCheckResult.createMany({
        data: outcomes.map((o) => ({ deploymentId: d.id, round, attempt: d.smokeAttempt, name: o.name, kind: o.kind, ok: o.ok, status: o.status, latencyMs: o.latencyMs, detail: o.detail })),
      });
    });
    return 0;
  }

  private async runHooks(d: LoadedDeployment, now: Date): Promise<number> {
    const hooks = rollbackHooksSchema.parse(d.environment.rollbackHooks);
    await this.setDetail(d.id, `Running ${hooks.length} rollback hook(s)`);
    const outcomes: Awaited<ReturnType<typeof runRollbackHook>>[] = [];
    for (const hook of hooks) {
      outcomes.push(await runRollbackHook(hook, { deploymentId: d.id, service: d.environment.service.slug, environment: d.environment.name, release: d.release.version, reason: d.rollbackReason }));
    }
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.deployment.updateMany({ where: { id: d.id, version: d.version, leaseOwner: this.instanceId }, data: { rollbackHooksRanAt: now, version: { increment: 1 } } });
      if (!count) throw new StaleDeployment();
      for (const o of outcomes) {
        await appendEvent(tx, d.id, { kind: "hook", message: `Rollback hook "${o.name}" ${o.ok ? "succeeded" : "failed"}: ${o.detail} (${o.ms} ms)`, data: { ...o } });
      }
      await recordAudit(tx, this.actor(), { action: "deployment.rollback_hooks_ran", entityType: "Deployment", entityId: d.id, after: { hooks: outcomes.map((o) => ({ name: o.name, ok: o.ok })) } });
    });
    this.changed(d.id);
    return 0;
  }

  /** Persists a transition (or a same-phase patch): row, timeline, gates, environment and audit together. */
  private async persist(
    d: LoadedDeployment,
    action: Extract<Action, { kind: "transition" }>,
    ctx: { metrics: WindowMetrics | null; now: Date },
    extra?: (tx: Prisma.TransactionClient) => Promise<void>,
  ): Promise<void> {
    const to = action.to;
    if (to !== d.status) assertTransition(d.status, to);
    const now = ctx.now;
    const terminal = isTerminal(to);
    const patch = action.patch;
    let figures = null;
    if (terminal) {
      const baseline = (patch.baseline ?? (d.baseline as Baseline | null)) ?? null;
      const green = ctx.metrics?.slots[d.targetSlot];
      figures = computeFigures({
        startedAt: d.startedAt,
        finishedAt: now,
        breachAt: d.breachAt,
        rollbackCompletedAt: d.rollbackCompletedAt,
        greenErrorRatePercent: to === "succeeded" && green && green.errorRate !== null ? green.errorRate * 100 : null,
        baselineErrorRatePercent: to === "succeeded" ? (baseline?.errorRatePercent ?? (d.fromReleaseId ? null : 0)) : null,
        secondsWithoutSuccess: await secondsWithoutSuccess(this.prisma, d.environmentId, d.startedAt, now),
      });
    }
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.deployment.updateMany({
        where: { id: d.id, version: d.version, leaseOwner: this.instanceId },
        data: {
          status: to,
          stepIndex: patch.stepIndex,
          stepReachedAt: patch.stepReachedAt,
          phaseStartedAt: patch.phaseStartedAt,
          skipBake: patch.skipBake,
          smokeAttempt: patch.smokeAttempt,
          baseline: patch.baseline === undefined ? undefined : json(patch.baseline),
          breachAt: patch.breachAt,
          rollbackReason: patch.rollbackReason === undefined ? undefined : json(patch.rollbackReason),
          rollbackCompletedAt: patch.rollbackCompletedAt,
          rollbackHooksRanAt: patch.rollbackHooksRanAt,
          outcome: patch.outcome,
          failureReason: patch.failureReason,
          statusDetail: null,
          version: { increment: 1 },
          ...(terminal ? { finishedAt: now, activeEnvironmentId: null, leaseOwner: null, leaseExpiresAt: null, figures: json(figures) } : {}),
        },
      });
      if (!count) throw new StaleDeployment();
      await appendEvent(tx, d.id, action.event, now);
      if (action.gates) await this.writeGates(tx, d, action.gates, now, patch.stepIndex !== undefined && patch.stepIndex !== d.stepIndex ? d.stepIndex : d.stepIndex);
      if (to === "succeeded") {
        const policy = readPolicy(d.policy, d.environment.production);
        await tx.environment.update({
          where: { id: d.environmentId },
          data: {
            liveSlot: d.targetSlot,
            liveReleaseId: d.releaseId,
            ...(d.fromReleaseId ? { scaleDownSlot: d.fromSlot, scaleDownAt: new Date(now.getTime() + policy.scaleDownDelaySeconds * 1000) } : {}),
          },
        });
      }
      if (extra) await extra(tx);
      await recordAudit(tx, this.actor(), {
        action: to === d.status ? "deployment.progressed" : `deployment.${to}`,
        entityType: "Deployment",
        entityId: d.id,
        before: { status: d.status, stepIndex: d.stepIndex },
        after: { status: to, stepIndex: patch.stepIndex ?? d.stepIndex, event: action.event.message, ...(figures ? { figures } : {}) },
      });
    });
    this.lastDetail.delete(d.id);
    if (action.gates) this.lastGates.set(d.id, JSON.stringify(action.gates.map((g) => [g.gate, g.outcome])));
    if (terminal) {
      this.owned.delete(d.id);
      this.forget(d.id);
    }
    this.changed(d.id, d.environmentId);
  }

  private async writeGates(tx: Prisma.TransactionClient, d: LoadedDeployment, gates: GateResult[], at: Date, stepIndex: number): Promise<void> {
    const steps = effectiveSteps({ fromReleaseId: d.fromReleaseId, policy: readPolicy(d.policy, d.environment.production) });
    const weight = d.status === "validating" ? 100 : (steps[stepIndex] ?? 100);
    // Validation-window gates are recorded as the step after the last traffic step.
    const index = d.status === "validating" ? steps.length : stepIndex;
    for (const g of gates) {
      const data = { weight, outcome: g.outcome, observed: g.observed, threshold: g.threshold, detail: g.detail, at };
      await tx.gateResult.upsert({
        where: { deploymentId_stepIndex_gate: { deploymentId: d.id, stepIndex: index, gate: g.gate } },
        create: { deploymentId: d.id, stepIndex: index, gate: g.gate, ...data },
        update: data,
      });
    }
  }

  /** Gate results are observations: stored when an outcome changes, without a new audit event. */
  private async recordGatesIfChanged(d: LoadedDeployment, gates: GateResult[], now: Date): Promise<void> {
    const key = JSON.stringify(gates.map((g) => [g.gate, g.outcome]));
    this.options.events.emit(`deployment:${d.id}`, "deployment:gates", { deploymentId: d.id, stepIndex: d.stepIndex, gates });
    if (this.lastGates.get(d.id) === key) return;
    await this.prisma.$transaction((tx) => this.writeGates(tx, d, gates, now, d.stepIndex));
    this.lastGates.set(d.id, key);
  }

  private async setDetail(id: string, detail: string): Promise<void> {
    if (this.lastDetail.get(id) === detail) return;
    this.lastDetail.set(id, detail);
    await this.prisma.deployment.updateMany({ where: { id, leaseOwner: this.instanceId }, data: { statusDetail: detail } });
    this.options.events.emit(`deployment:${id}`, "deployment:detail", { deploymentId: id, detail });
  }

  private changed(deploymentId: string, environmentId?: string): void {
    this.options.events.emit(`deployment:${deploymentId}`, "deployment:changed", { deploymentId });
    this.options.events.emit("overview", "deployment:changed", { deploymentId, environmentId });
  }

  /** Environment-level chores: scale down former live slots once their delay has passed. */
  private async housekeeping(): Promise<void> {
    if (this.stopped) return;
    const due = await this.prisma.environment.findMany({
      where: { scaleDownAt: { lte: this.now() }, scaleDownSlot: { not: null }, deployments: { none: { activeEnvironmentId: { not: null } } } },
      include: { service: true },
    });
    for (const env of due) {
      const slot = env.scaleDownSlot!;
      await this.options.drivers(env.target).scale(environmentRef(env), slot, 0);
      await this.prisma.$transaction(async (tx) => {
        const { count } = await tx.environment.updateMany({ where: { id: env.id, scaleDownAt: env.scaleDownAt, scaleDownSlot: slot }, data: { scaleDownAt: null, scaleDownSlot: null } });
        if (!count) return;
        const last = await tx.deployment.findFirst({ where: { environmentId: env.id, status: "succeeded" }, orderBy: { finishedAt: "desc" } });
        if (last) await appendEvent(tx, last.id, { kind: "scaled_down", message: `The former live slot ${slot} was scaled down` });
        await recordAudit(tx, this.actor(), { action: "environment.slot_scaled_down", entityType: "Environment", entityId: env.id, after: { slot } });
      });
      this.options.events.emit("overview", "environment:changed", { environmentId: env.id });
    }
  }
}

export type { DeploymentStatus };
