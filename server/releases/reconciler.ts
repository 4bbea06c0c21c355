/**
 * The reconciler: the effectful shell around `decide` (plan.ts). For every active deployment whose
 * lease this instance holds, a pass observes the target, evaluates the gates, takes at most one
 * idempotent action and persists what changed — status, timeline event and audit event in one
 * transaction, written only if the row is unchanged since the pass read it. Nothing is remembered
 * in memory that cannot be re-read: a panel killed mid-pass carries on from the database.
 *
 * Scheduling: a deployment is driven by the instance whose lease on the row is current. Instances
 * announce themselves with a heartbeat and each drives a fair share of the active deployments
 * (leases.ts). Every deployment has its own pass loop, so one slow deployment never holds up
 * another; due passes start rollbacks first. A pass has a deadline (30 s by default): at the
 * deadline its AbortSignal aborts the driver call in flight, the pass fails with that message and
 * the deployment backs off. A lease is renewed only while the deployment's passes make progress
 * (none in flight, or the one in flight within its deadline), so a pass that hangs regardless lets
 * its lease lapse and another instance takes the deployment over. Rules: scheduling.ts.
 */
import type { ServerToClientEvents } from "../realtime/event-map.ts";
import os from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { systemActor, type Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { Deployment, Environment, Prisma, PrismaClient, Release, Service } from "../db/generated/client.ts";
import type { PanelEvents } from "../realtime/events.ts";
import { newTraceId } from "../telemetry/context.ts";
import type { EnvironmentRef, ReleaseRef, Slot, TargetDriver, WindowMetrics } from "../targets/driver.ts";
import type { ReconcilerMetrics } from "../telemetry/metrics.ts";
import { secondsWithoutSuccess } from "./figures.ts";
import { judge, type Baseline, type GateRule, type GateVerdict } from "./judge/judge.ts";
import { recordHookAttempt, rollbackHooksSchema, runRollbackHook } from "./hooks.ts";
import { LeaseRows } from "./leases.ts";
import {
  bakeWindow,
  decide,
  decideChore,
  effectiveSteps,
  mayFinish,
  smokeRound,
  type Action,
  type ClosingFacts,
  type DeploymentSnapshot,
  type GateFailures,
  type SmokeRound,
} from "./plan.ts";
import { readPolicy } from "./policy.ts";
import {
  beatEveryMs,
  DEFAULT_PASS_DEADLINE_MS,
  fairShare,
  leaseRenewable,
  leasesToHandBack,
  PassDeadlineExceeded,
  passBackoffMs,
  spreadWaitMs,
  passOrder,
} from "./scheduling.ts";
import { runSmokeChecks } from "./smoke.ts";
import { assertTransition, isTerminal, PROGRESSING_STATUSES, type DeploymentStatus } from "./state-machine.ts";
import { appendEvent } from "./timeline.ts";
import { rollbackReason } from "./vocabulary.ts";
import { detailKind, FIGURES_EVERY_MS, isDue, STORED_FIGURES_EVERY_MS, type Sent } from "./update-pacing.ts";

type LoadedDeployment = Deployment & { release: Release; environment: Environment & { service: Service } };

/** How long a pass reuses a deployment's release, environment and service rows (see Reconciler.load). */
const RELATED_ROWS_TTL_MS = 2000;

export interface ReconcilerOptions {
  prisma: PrismaClient;
  log: Logger;
  events: PanelEvents;
  drivers: (kind: "local" | "ecs") => TargetDriver;
  /** Where the gates read a window's figures (the environment's Prometheus, else its target); default: the target. */
  metricsSource?: Pick<TargetDriver, "metrics"> & {
    /** False where the gates read another source (Prometheus): the target's traffic guard then stays out of it. */
    gatesReadTarget?(env: EnvironmentRef): Promise<boolean>;
  };
  /** Whether traffic steps arm the target's traffic guard (TrafficGuardSpec); default off. */
  trafficGuard?: boolean;
  /** Lease length; renewed every second while the deployment's passes make progress. */
  leaseMs?: number;
  /** Longest a pass may run before its driver calls are aborted and it counts as failed (default 30 s). */
  passDeadlineMs?: number;
  /** Pass durations and outcomes, and leases held, for /metrics. */
  metrics?: ReconcilerMetrics;
  /** Consecutive failed passes (driver errors) before the deployment is paused with the error shown. */
  errorBudget?: number;
  now?: () => Date;
  /** Why a deployment may not start a new traffic step now (governance: the end of a window). */
  stepHold?: (deployment: { governance: unknown }, now: Date) => string | null;
  /** The rule that judges a step (default: the judge). The verdicts benchmark swaps in the old threshold rule to compare. */
  gateRule?: GateRule;
}

class StaleDeployment extends Error {}

/** A pass in flight: when it started, and how to abort its driver calls. */
interface RunningPass {
  startedAt: number;
  controller: AbortController;
  settled: Promise<void>;
}

/** After the deadline, how long a pass has to reject with its own (more precise) error before the deadline's is used. */
const DEADLINE_GRACE_MS = 250;

export function environmentRef(env: Environment & { service: Service }): EnvironmentRef {
  return {
    id: env.id,
    serviceSlug: env.service.slug,
    name: env.name,
    target: env.target,
    targetConfig: env.targetConfig,
  };
}

export function releaseRef(release: Release): ReleaseRef {
  return {
    id: release.id,
    version: release.version,
    artifact: release.artifact,
    settings: (release.settings ?? {}) as Record<string, unknown>,
  };
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
    baseline: readBaseline(d.baseline),
    gateFailures: (d.gateFailures as GateFailures | null) ?? null,
    breachAt: d.breachAt,
    rollbackCompletedAt: d.rollbackCompletedAt,
    rollbackHooksRanAt: d.rollbackHooksRanAt,
    outcome: d.outcome,
    hasRollbackHooks: hooks.success && hooks.data.length > 0,
    startedAt: d.startedAt,
    trafficStartedAt: d.trafficStartedAt,
    rollbackReasonKind: rollbackReason.safeParse(d.rollbackReason).data?.kind ?? null,
  };
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

/** A stored baseline; one written before the judge (a rate and a p95, no counts) cannot be judged against. */
function readBaseline(stored: unknown): Baseline | null {
  const b = stored as Partial<Baseline> | null;
  return b && typeof b.requests === "number" && typeof b.errors === "number" ? (b as Baseline) : null;
}

export class Reconciler {
  readonly instanceId = `${os.hostname()}#${process.pid}#${randomBytes(4).toString("hex")}`;
  private readonly prisma: PrismaClient;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly errorBudget: number;
  private readonly passDeadlineMs: number;
  private readonly now: () => Date;
  private readonly leases: LeaseRows;
  private owned = new Set<string>();
  private running = new Map<string, RunningPass>();
  private nextPassAt = new Map<string, number>();
  /** Owned deployments that are rolling back (their passes go first); refreshed every beat and pass. */
  private rollingBack = new Set<string>();
  private claimedAt = new Map<string, number>();
  private maintaining: Promise<void> | null = null;
  private beatAgain = false;
  private housekeepingRun: Promise<void> | null = null;
  /** Scale-downs in flight, by environment: each runs on its own, under its own deadline. */
  private scalingDown = new Map<string, { controller: AbortController; settled: Promise<void> }>();
  /** Environments whose scale-downs failed in a row: how many times, and when the next may start. */
  private scaleDownRetry = new Map<string, { failures: number; at: number }>();
  private failures = new Map<string, number>();
  /** The status line last sent and last stored, and the gate verdicts last sent (update-pacing.ts). */
  private lastDetail = new Map<string, Sent>();
  private storedDetail = new Map<string, Sent>();
  private sentGates = new Map<string, Sent>();
  /** The gate outcomes last stored. */
  private lastGates = new Map<string, string>();
  /** Each deployment's release, environment and service as last read (see load). */
  private related = new Map<
    string,
    { at: number; release: Release; environment: Environment & { service: Service } }
  >();
  private timers: NodeJS.Timeout[] = [];
  private stopped = true;

  constructor(private readonly options: ReconcilerOptions) {
    this.prisma = options.prisma;
    this.log = options.log;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.errorBudget = options.errorBudget ?? 8;
    this.passDeadlineMs = options.passDeadlineMs ?? DEFAULT_PASS_DEADLINE_MS;
    this.now = options.now ?? (() => new Date());
    this.leases = new LeaseRows(this.prisma, this.instanceId, this.leaseMs);
  }

  start(): void {
    this.stopped = false;
    const maintain = () =>
      void this.maintainLeases().catch((error: unknown) =>
        this.log.warn({ action: "reconciler.lease_error", metadata: { error } }, "Could not renew or claim leases"),
      );
    maintain();
    this.timers.push(
      setInterval(maintain, beatEveryMs(this.leaseMs)),
      setInterval(() => this.runDuePasses(), 50),
    );
    this.timers.push(setInterval(() => void this.runHousekeeping(), 1000));
  }

  /** Stops driving deployments and hands the leases back so another instance can carry on at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    // Driver calls in flight are abandoned (each is idempotent; whoever drives next observes afresh).
    for (const pass of this.running.values()) pass.controller.abort(new Error("the panel is stopping"));
    for (const chore of this.scalingDown.values()) chore.controller.abort(new Error("the panel is stopping"));
    await Promise.allSettled([
      ...[...this.running.values()].map((p) => p.settled),
      this.maintaining,
      this.housekeepingRun,
    ]);
    // After the run that may have started some.
    await Promise.allSettled([...this.scalingDown.values()].map((c) => c.settled));
    await this.leases.leave().catch(() => {});
    this.owned.clear();
    this.options.metrics?.leases.set(0);
  }

  /** Runs a pass for this deployment as soon as possible (after a command or a start). */
  kick(deploymentId: string): void {
    this.nextPassAt.set(deploymentId, 0);
    if (!this.owned.has(deploymentId)) void this.maintainLeases().catch(() => {});
  }

  /** One beat: heartbeat, renew what makes progress, hand back what is over the fair share, claim up to it. */
  private maintainLeases(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.maintaining) {
      // A beat is under way: run one more after it (a deployment just started must not wait a second).
      this.beatAgain = true;
      return this.maintaining;
    }
    this.maintaining = (async () => {
      do {
        this.beatAgain = false;
        await this.beat();
      } while (this.beatAgain && !this.stopped);
    })().finally(() => (this.maintaining = null));
    return this.maintaining;
  }

  private async beat(): Promise<void> {
    const live = await this.leases.heartbeat();
    const now = Date.now();
    const stuck = [...this.running]
      .filter(([, p]) => !leaseRenewable(p.startedAt, now, this.passDeadlineMs))
      .map(([id]) => id);
    const kept = await this.leases.renew([...this.owned].filter((id) => !stuck.includes(id)));
    const share = fairShare(await this.leases.activeDeployments(), live);
    const handBack = leasesToHandBack(
      kept.map((row) => ({
        id: row.id,
        running: this.running.has(row.id),
        settling: row.status === "deploying_green",
        rollingBack: row.status === "rolling_back",
        claimedAt: this.claimedAt.get(row.id) ?? 0,
      })),
      share,
    );
    const owned = new Map(kept.filter((row) => !handBack.includes(row.id)).map((row) => [row.id, row.status]));
    // No pass may start on a deployment after its lease is handed back: drop it first.
    for (const id of handBack) this.owned.delete(id);
    await this.leases.handBack(handBack);
    const claimed = this.stopped ? [] : await this.leases.claim(share - owned.size, [...this.running.keys()]);
    for (const row of claimed) {
      owned.set(row.id, row.status);
      this.claimedAt.set(row.id, Date.now());
      if (!this.owned.has(row.id)) this.nextPassAt.set(row.id, 0);
    }
    for (const id of this.owned) if (!owned.has(id)) this.forget(id);
    this.owned = new Set(owned.keys());
    this.rollingBack = new Set([...owned].filter(([, status]) => status === "rolling_back").map(([id]) => id));
    this.options.metrics?.leases.set(this.owned.size);
  }

  private forget(id: string): void {
    this.nextPassAt.delete(id);
    this.failures.delete(id);
    this.lastDetail.delete(id);
    this.storedDetail.delete(id);
    this.sentGates.delete(id);
    this.lastGates.delete(id);
    this.related.delete(id);
    this.claimedAt.delete(id);
    this.rollingBack.delete(id);
  }

  /** Starts every due pass, rollbacks first; each deployment's passes run on their own. */
  private runDuePasses(): void {
    if (this.stopped) return;
    const now = Date.now();
    const due = [...this.owned]
      .filter((id) => !this.running.has(id) && (this.nextPassAt.get(id) ?? 0) <= now)
      .map((id) => ({ id, rollingBack: this.rollingBack.has(id), dueAt: this.nextPassAt.get(id) ?? 0 }));
    for (const { id } of passOrder(due)) this.startPass(id);
  }

  /**
   * Runs one pass under its deadline. At the deadline the pass's signal aborts its driver calls; the
   * pass counts as failed then (with its own error if it rejects at once, else the deadline's), and
   * no new pass of the deployment starts until this one has settled.
   */
  private startPass(id: string): void {
    const controller = new AbortController();
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = new PassDeadlineExceeded(this.passDeadlineMs);
        controller.abort(reason);
        setTimeout(() => reject(reason), DEADLINE_GRACE_MS).unref();
      }, this.passDeadlineMs);
      timer.unref();
    });
    const run = this.pass(id, controller.signal);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    const entry: RunningPass = { startedAt, controller, settled };
    this.running.set(id, entry);
    void settled.finally(() => {
      clearTimeout(timer);
      if (this.running.get(id) === entry) this.running.delete(id);
    });
    Promise.race([run, deadline]).then(
      (retryInMs) => {
        this.observePass(startedAt, "ok");
        this.failures.delete(id);
        this.nextPassAt.set(id, Date.now() + spreadWaitMs(retryInMs));
      },
      (error: unknown) => {
        this.observePass(startedAt, controller.signal.aborted ? "deadline" : "error");
        return this.onPassError(id, deadlineMessage(error, controller.signal));
      },
    );
  }

  private observePass(startedAt: number, outcome: "ok" | "error" | "deadline"): void {
    this.options.metrics?.passDuration.observe({ outcome }, (Date.now() - startedAt) / 1000);
  }

  private async onPassError(id: string, error: unknown): Promise<void> {
    if (error instanceof StaleDeployment) {
      this.nextPassAt.set(id, Date.now());
      return;
    }
    const count = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, count);
    const message = (error as Error).message ?? String(error);
    this.log.warn(
      { action: "reconciler.pass_failed", metadata: { deploymentId: id, attempt: count, error: message } },
      `Deployment pass failed (${count}/${this.errorBudget}): ${message}`,
    );
    this.nextPassAt.set(id, Date.now() + passBackoffMs(count, this.rollingBack.has(id)));
    // A retry's count is news, not a figure: it is stored as soon as it is sent.
    await this.setDetail(
      id,
      `Retrying after an error (${count}/${this.errorBudget}): ${message}`,
      FIGURES_EVERY_MS,
    ).catch(() => {});
    if (count >= this.errorBudget) {
      await this.pauseOnErrors(id, message).catch((e: unknown) =>
        this.log.error({ action: "reconciler.pause_failed", metadata: { error: e } }, "Could not pause"),
      );
      this.failures.delete(id);
    }
  }

  /** Past the retry budget the deployment pauses with the error shown; a person resumes it. */
  private async pauseOnErrors(id: string, message: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const d = await tx.deployment.findUnique({ where: { id } });
      if (!d || !PROGRESSING_STATUSES.includes(d.status)) return;
      const { count } = await tx.deployment.updateMany({
        where: { id, version: d.version },
        data: {
          status: "paused",
          pausedFrom: d.status,
          pausedAt: this.now(),
          statusDetail: `Paused after repeated errors: ${message}`,
          version: { increment: 1 },
          commandVersion: { increment: 1 },
        },
      });
      if (!count) return;
      await appendEvent(tx, id, {
        kind: "paused_on_errors",
        message: `Paused after ${this.errorBudget} failed attempts: ${message}. Resume to try again.`,
        data: { error: message },
      });
      await recordAudit(tx, this.actor(), {
        action: "deployment.paused",
        entityType: "Deployment",
        entityId: id,
        before: { status: d.status },
        after: { status: "paused", error: message },
      });
    });
    this.changed(id);
  }

  private actor(): Actor {
    return { ...systemActor(newTraceId()), email: "reconciler" };
  }

  /**
   * The deployment row, read on every pass (commands and leases act on it); its release, environment
   * and service, read again once they are RELATED_ROWS_TTL_MS old. A pass runs up to five times a
   * second while baking, and reading all four rows each time was most of a busy panel's queries; a
   * change to the environment (its rollback hooks, its target settings) reaches the passes within the TTL.
   */
  private async load(id: string): Promise<LoadedDeployment | null> {
    const related = this.related.get(id);
    if (related && Date.now() - related.at < RELATED_ROWS_TTL_MS) {
      const d = await this.prisma.deployment.findUnique({ where: { id } });
      if (!d) return null;
      if (d.releaseId === related.release.id && d.environmentId === related.environment.id)
        return { ...d, release: related.release, environment: related.environment };
    }
    const d = await this.prisma.deployment.findUnique({
      where: { id },
      include: { release: true, environment: { include: { service: true } } },
    });
    if (d) this.related.set(id, { at: Date.now(), release: d.release, environment: d.environment });
    return d;
  }

  /** One pass over one deployment. Returns how long to wait before the next pass. */
  private async pass(id: string, signal: AbortSignal): Promise<number> {
    const d = await this.load(id);
    if (!d || isTerminal(d.status) || d.leaseOwner !== this.instanceId) {
      this.owned.delete(id);
      this.forget(id);
      return 1000;
    }
    if (d.status === "rolling_back") this.rollingBack.add(id);
    const env = environmentRef(d.environment);
    const driver = this.options.drivers(d.environment.target);
    const snap = snapshot(d);
    const now = this.now();
    const observed = await driver.observe(env, { signal });

    let gates: GateVerdict[] | null = null;
    let metrics: WindowMetrics | null = null;
    const bake = bakeWindow(snap, now);
    if (bake) {
      metrics = await (this.options.metricsSource ?? driver).metrics(
        env,
        { from: bake.from, to: now, newSlot: d.targetSlot },
        { signal },
      );
      gates = (this.options.gateRule ?? judge)(snap.policy.gates, {
        green: metrics.slots[d.targetSlot],
        live: metrics.slots[d.fromSlot],
        baseline: snap.baseline,
        complete: metrics.complete,
        signals: metrics.signals,
        bakeOver: bake.over,
        slots: { new: d.targetSlot, live: d.fromSlot },
        liveRelease: d.fromReleaseId !== null,
        environmentId: d.environmentId,
        source: metrics.source,
        sourceStatus: metrics.sourceStatus,
      });
    }

    const stepHold = this.options.stepHold?.(d, now) ?? null;
    const smoke = d.status === "smoke_testing" ? await this.smokeOutcome(d, smokeRound(snap)) : null;
    const closing = mayFinish(snap, now) ? await this.closingFacts(d, now) : null;
    const action = decide(snap, { observed, gates, metrics, now, stepHold, smoke, closing });
    this.options.metrics?.actions.inc({ kind: action.kind === "transition" ? `transition:${action.to}` : action.kind });
    return this.execute(d, snap, action, { env, driver, metrics, now, signal });
  }

  /** The smoke checks recorded for this attempt and round: what failed, or null when they have not run. */
  private async smokeOutcome(d: LoadedDeployment, round: SmokeRound): Promise<{ failed: string[] } | null> {
    const results = await this.prisma.smokeCheckResult.findMany({
      where: { deploymentId: d.id, round, attempt: d.smokeAttempt },
      select: { name: true, ok: true, detail: true },
    });
    const ran = results.length > 0 || d.smokeRanAttempt === d.smokeAttempt;
    return ran ? { failed: results.filter((r) => !r.ok).map((r) => `${r.name} (${r.detail})`) } : null;
  }

  /** What ending the deployment needs: seconds without a successful answer, and what a rolled-back release served. */
  private async closingFacts(d: LoadedDeployment, now: Date): Promise<ClosingFacts> {
    return {
      secondsWithoutSuccess: await secondsWithoutSuccess(this.prisma, d.environmentId, d.startedAt, now),
      exposure: d.status === "rolling_back" && d.outcome === "rolled_back" ? await this.exposure(d) : null,
    };
  }

  private async execute(
    d: LoadedDeployment,
    snap: DeploymentSnapshot,
    action: Action,
    ctx: { env: EnvironmentRef; driver: TargetDriver; metrics: WindowMetrics | null; now: Date; signal: AbortSignal },
  ): Promise<number> {
    // Past its deadline a pass acts no more (a call that ignored the abort may have returned late).
    ctx.signal.throwIfAborted();
    switch (action.kind) {
      case "wait":
        await this.setDetail(d.id, action.reason);
        if (action.gates) await this.recordGatesIfChanged(d, action.gates, ctx.now);
        return action.retryInMs;
      case "ensureRelease":
        await this.setDetail(d.id, `Deploying ${d.release.version} to ${action.slot}`);
        await ctx.driver.ensureRelease(ctx.env, action.slot, releaseRef(d.release), { signal: ctx.signal });
        return 250;
      case "setWeights":
        await ctx.driver.setWeights(ctx.env, action.weights, {
          signal: ctx.signal,
          // The guard acts on the target's figures: where the person chose another source for the gates, it does not.
          guard:
            this.options.trafficGuard &&
            action.guard &&
            (await (this.options.metricsSource?.gatesReadTarget?.(ctx.env) ?? true))
              ? action.guard
              : undefined,
        });
        this.options.events.emit(`env:${d.environmentId}`, "weights", {
          environmentId: d.environmentId,
          weights: action.weights,
        } satisfies ServerToClientEvents["weights"]);
        return 0;
      case "scaleDown":
        await ctx.driver.scale(ctx.env, action.slot, 0, { signal: ctx.signal });
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

  /** Runs the round's smoke checks and records what they found; the next pass decides from it. */
  private async runSmoke(
    d: LoadedDeployment,
    snap: DeploymentSnapshot,
    round: SmokeRound,
    ctx: { env: EnvironmentRef; driver: TargetDriver; now: Date; signal: AbortSignal },
  ): Promise<number> {
    await this.setDetail(
      d.id,
      `Running ${snap.policy.smokeTests.length} smoke tests ${round === "pre_traffic" ? "before traffic" : "at 100%"}`,
    );
    // With no checks there is nothing to reach: a target need not expose the slot directly.
    const outcomes =
      snap.policy.smokeTests.length === 0
        ? []
        : await runSmokeChecks(
            await ctx.driver.slotUrl(ctx.env, d.targetSlot, { signal: ctx.signal }),
            snap.policy.smokeTests,
          );
    ctx.signal.throwIfAborted();
    await this.prisma.$transaction(async (tx) => {
      // Guarded like a transition: a pass that lost the deployment records nothing.
      const { count } = await tx.deployment.updateMany({
        where: { id: d.id, version: d.version, leaseOwner: this.instanceId },
        data: { smokeRanAttempt: d.smokeAttempt, version: { increment: 1 } },
      });
      if (!count) throw new StaleDeployment();
      await tx.smokeCheckResult.createMany({
        data: outcomes.map((o) => ({
          deploymentId: d.id,
          round,
          attempt: d.smokeAttempt,
          name: o.name,
          kind: o.kind,
          ok: o.ok,
          status: o.status,
          latencyMs: o.latencyMs,
          detail: o.detail,
        })),
      });
    });
    return 0;
  }

  private async runHooks(d: LoadedDeployment, now: Date): Promise<number> {
    const hooks = rollbackHooksSchema.parse(d.environment.rollbackHooks);
    await this.setDetail(d.id, `Running ${hooks.length} rollback hook(s)`);
    const outcomes: Awaited<ReturnType<typeof runRollbackHook>>[] = [];
    for (const hook of hooks) {
      const attempt = await recordHookAttempt(this.prisma, this.actor(), d.id, hook);
      outcomes.push(
        await runRollbackHook(
          hook,
          {
            deploymentId: d.id,
            service: d.environment.service.slug,
            environment: d.environment.name,
            release: d.release.version,
            reason: d.rollbackReason,
          },
          attempt,
        ),
      );
    }
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.deployment.updateMany({
        where: { id: d.id, version: d.version, leaseOwner: this.instanceId },
        data: { rollbackHooksRanAt: now, version: { increment: 1 } },
      });
      if (!count) throw new StaleDeployment();
      for (const o of outcomes) {
        await appendEvent(tx, d.id, {
          kind: "hook",
          message: `Rollback hook "${o.name}" ${o.ok ? "succeeded" : "failed"}: ${o.detail} (${o.ms} ms)`,
          data: { ...o },
        });
      }
      await recordAudit(tx, this.actor(), {
        action: "deployment.rollback_hooks_ran",
        entityType: "Deployment",
        entityId: d.id,
        after: { hooks: outcomes.map((o) => ({ name: o.name, ok: o.ok })) },
      });
    });
    this.changed(d.id);
    return 0;
  }

  /** Persists a transition (or a same-phase patch): row, timeline, gates, environment and audit together. */
  private async persist(
    d: LoadedDeployment,
    action: Extract<Action, { kind: "transition" }>,
    ctx: { now: Date },
  ): Promise<void> {
    const to = action.to;
    if (to !== d.status) assertTransition(d.status, to);
    const now = ctx.now;
    const terminal = isTerminal(to);
    const patch = action.patch;
    const figures = patch.figures ?? null;
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
          gateFailures: patch.gateFailures === undefined ? undefined : json(patch.gateFailures),
          trafficStartedAt: patch.trafficStartedAt,
          breachAt: patch.breachAt,
          rollbackReason: patch.rollbackReason === undefined ? undefined : json(patch.rollbackReason),
          rollbackCompletedAt: patch.rollbackCompletedAt,
          rollbackHooksRanAt: patch.rollbackHooksRanAt,
          outcome: patch.outcome,
          failureReason: patch.failureReason,
          statusDetail: null,
          version: { increment: 1 },
          ...(figures ? { figures: json(figures) } : {}),
          ...(terminal ? { finishedAt: now, activeEnvironmentId: null, leaseOwner: null, leaseExpiresAt: null } : {}),
        },
      });
      if (!count) throw new StaleDeployment();
      await appendEvent(tx, d.id, action.event, now);
      if (action.gates)
        await this.writeGates(
          tx,
          d,
          action.gates,
          now,
          patch.stepIndex !== undefined && patch.stepIndex !== d.stepIndex ? d.stepIndex : d.stepIndex,
        );
      if (action.environment) await tx.environment.update({ where: { id: d.environmentId }, data: action.environment });
      await recordAudit(tx, this.actor(), {
        action: to === d.status ? "deployment.progressed" : `deployment.${to}`,
        entityType: "Deployment",
        entityId: d.id,
        before: { status: d.status, stepIndex: d.stepIndex },
        after: {
          status: to,
          stepIndex: patch.stepIndex ?? d.stepIndex,
          event: action.event.message,
          ...(figures ? { figures } : {}),
        },
      });
    });
    this.lastDetail.delete(d.id);
    this.storedDetail.delete(d.id);
    if (action.gates) this.lastGates.set(d.id, JSON.stringify(action.gates.map((g) => [g.gate, g.outcome])));
    if (terminal) {
      this.owned.delete(d.id);
      this.forget(d.id);
    }
    this.changed(d.id, d.environmentId);
  }

  /**
   * What the release served before it was rolled back: its failed requests from its first traffic to
   * the moment all traffic was back on the live slot, and when the first of them was answered.
   */
  private async exposure(d: LoadedDeployment): Promise<{ errors: number; firstErrorAt: Date | null } | null> {
    if (!d.trafficStartedAt || !d.rollbackCompletedAt) return null;
    try {
      const window = await this.options
        .drivers(d.environment.target)
        .metrics(environmentRef(d.environment), { from: d.trafficStartedAt, to: d.rollbackCompletedAt });
      const slot = window.slots[d.targetSlot];
      return { errors: slot.errors, firstErrorAt: slot.firstErrorAt ?? null };
    } catch (error) {
      this.log.warn(
        {
          action: "reconciler.exposure_unavailable",
          metadata: { deploymentId: d.id, error: (error as Error).message },
        },
        "Could not read what the release served before its rollback",
      );
      return null;
    }
  }

  private async writeGates(
    tx: Prisma.TransactionClient,
    d: LoadedDeployment,
    gates: GateVerdict[],
    at: Date,
    stepIndex: number,
  ): Promise<void> {
    const steps = effectiveSteps({
      fromReleaseId: d.fromReleaseId,
      policy: readPolicy(d.policy, d.environment.production),
    });
    const weight = d.status === "validating" ? 100 : (steps[stepIndex] ?? 100);
    // Validation-window gates are recorded as the step after the last traffic step.
    const index = d.status === "validating" ? steps.length : stepIndex;
    for (const g of gates) {
      const data = {
        weight,
        outcome: g.outcome,
        observed: g.observed,
        threshold: g.threshold,
        detail: g.detail,
        explanation: json(g.explanation),
        at,
      };
      await tx.gateResult.upsert({
        where: { deploymentId_stepIndex_gate: { deploymentId: d.id, stepIndex: index, gate: g.gate } },
        create: { deploymentId: d.id, stepIndex: index, gate: g.gate, ...data },
        update: data,
      });
    }
  }

  /** Gate results are observations: stored when an outcome changes, without a new audit event. */
  private async recordGatesIfChanged(d: LoadedDeployment, gates: GateVerdict[], now: Date): Promise<void> {
    const key = JSON.stringify(gates.map((g) => [g.gate, g.outcome]));
    const sent = { kind: `${d.stepIndex}:${key}`, text: JSON.stringify(gates), at: now.getTime() };
    if (isDue(this.sentGates.get(d.id), sent, sent.at, FIGURES_EVERY_MS)) {
      this.sentGates.set(d.id, sent);
      this.options.events.emit(`deployment:${d.id}`, "deployment:gates", {
        deploymentId: d.id,
        stepIndex: d.stepIndex,
        gates,
      } satisfies ServerToClientEvents["deployment:gates"]);
    }
    if (this.lastGates.get(d.id) === key) return;
    await this.prisma.$transaction((tx) => this.writeGates(tx, d, gates, now, d.stepIndex));
    this.lastGates.set(d.id, key);
  }

  private async setDetail(id: string, detail: string, storeEveryMs = STORED_FIGURES_EVERY_MS): Promise<void> {
    const next = { kind: detailKind(detail), text: detail, at: Date.now() };
    if (!isDue(this.lastDetail.get(id), next, next.at, FIGURES_EVERY_MS)) return;
    this.lastDetail.set(id, next);
    if (isDue(this.storedDetail.get(id), next, next.at, storeEveryMs)) {
      this.storedDetail.set(id, next);
      await this.prisma.deployment.updateMany({
        where: { id, leaseOwner: this.instanceId },
        data: { statusDetail: detail },
      });
    }
    this.options.events.emit(`deployment:${id}`, "deployment:detail", {
      deploymentId: id,
      detail,
    } satisfies ServerToClientEvents["deployment:detail"]);
  }

  private changed(deploymentId: string, environmentId?: string): void {
    this.options.events.emit(`deployment:${deploymentId}`, "deployment:changed", {
      deploymentId,
    } satisfies ServerToClientEvents["deployment:changed"]);
    this.options.events.emit("overview", "deployment:changed", { deploymentId, environmentId });
  }

  /** Housekeeping one run at a time: a run reads what is due and starts it, without waiting for AWS. */
  private runHousekeeping(): void {
    if (this.stopped || this.housekeepingRun) return;
    this.housekeepingRun = this.housekeeping()
      .catch((error) =>
        this.log.warn(
          { action: "reconciler.housekeeping_error", metadata: { error: (error as Error).message ?? error } },
          "Housekeeping failed",
        ),
      )
      .finally(() => (this.housekeepingRun = null));
  }

  /**
   * Environment-level chores: scale down former live slots once their delay has passed. Each
   * environment's scale-down runs on its own, under its own deadline (the pass deadline), and at most
   * one at a time per environment: an environment whose AWS fails or goes silent must neither stop
   * nor delay another's (a former slot left up is paid for). A failed one is logged and tried again
   * after a backoff (passBackoffMs), so it is not retried every second ahead of the others either.
   */
  private async housekeeping(): Promise<void> {
    if (this.stopped) return;
    const candidates = await this.prisma.environment.findMany({
      where: { scaleDownAt: { lte: this.now() }, scaleDownSlot: { not: null } },
      include: { service: true, deployments: { where: { activeEnvironmentId: { not: null } }, select: { id: true } } },
    });
    const now = Date.now();
    // An environment with nothing due any more (scaled down by another instance, deleted) starts afresh.
    const due = new Set(candidates.map((env) => env.id));
    for (const id of this.scaleDownRetry.keys()) if (!due.has(id)) this.scaleDownRetry.delete(id);
    for (const env of candidates) {
      if (this.stopped) return;
      const chore = decideChore(
        {
          scaleDownSlot: env.scaleDownSlot,
          scaleDownAt: env.scaleDownAt,
          activeDeployment: env.deployments.length > 0,
        },
        this.now(),
      );
      if (!chore || this.scalingDown.has(env.id) || (this.scaleDownRetry.get(env.id)?.at ?? 0) > now) continue;
      this.startScaleDown(env, chore.slot);
    }
  }

  /** Starts one environment's scale-down under its own deadline; a failure is logged and backed off, never thrown. */
  private startScaleDown(env: Environment & { service: Service }, slot: Slot): void {
    const controller = new AbortController();
    const deadline = new Error(`the scale-down reached its ${Math.round(this.passDeadlineMs / 100) / 10} s deadline`);
    const timer = setTimeout(() => controller.abort(deadline), this.passDeadlineMs);
    timer.unref();
    const settled = this.scaleDown(env, slot, controller.signal)
      .then(
        () => void this.scaleDownRetry.delete(env.id),
        (error: unknown) => {
          const failures = (this.scaleDownRetry.get(env.id)?.failures ?? 0) + 1;
          const retryInMs = passBackoffMs(failures, false);
          this.scaleDownRetry.set(env.id, { failures, at: Date.now() + retryInMs });
          const message = choreMessage(error, controller.signal, deadline);
          this.log.warn(
            {
              action: "reconciler.scale_down_failed",
              metadata: { environmentId: env.id, slot, attempt: failures, error: message },
            },
            `Could not scale down the former live slot ${slot} of ${env.service.slug}/${env.name} (attempt ${failures}, next in ${Math.ceil(retryInMs / 1000)} s): ${message}`,
          );
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.scalingDown.delete(env.id);
      });
    this.scalingDown.set(env.id, { controller, settled });
  }

  /** Scales the environment's former live slot to zero, then records it (once, whichever instance gets there first). */
  private async scaleDown(env: Environment & { service: Service }, slot: Slot, signal: AbortSignal): Promise<void> {
    await this.options.drivers(env.target).scale(environmentRef(env), slot, 0, { signal });
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.environment.updateMany({
        where: { id: env.id, scaleDownAt: env.scaleDownAt, scaleDownSlot: slot },
        data: { scaleDownAt: null, scaleDownSlot: null },
      });
      if (!count) return;
      const last = await tx.deployment.findFirst({
        where: { environmentId: env.id, status: "succeeded" },
        orderBy: { finishedAt: "desc" },
      });
      if (last)
        await appendEvent(tx, last.id, {
          kind: "scaled_down",
          message: `The former live slot ${slot} was scaled down`,
        });
      await recordAudit(tx, this.actor(), {
        action: "environment.slot_scaled_down",
        entityType: "Environment",
        entityId: env.id,
        after: { slot },
      });
    });
    this.options.events.emit("overview", "environment:changed", { environmentId: env.id });
  }
}

/** A chore's failure as people read it: cut short at its deadline, it says so beside the call it stopped. */
function choreMessage(error: unknown, signal: AbortSignal, deadline: Error): string {
  const message = error instanceof Error ? error.message : String(error);
  if (signal.reason !== deadline) return message;
  if (error === deadline) return `It did not finish: ${deadline.message}`;
  return message.includes(deadline.message) ? message : `${message} (${deadline.message})`;
}

/** A pass's failure as people read it: an abort at the deadline names the deadline and, if known, the call it cut short. */
function deadlineMessage(error: unknown, signal: AbortSignal): unknown {
  if (!signal.aborted || !(signal.reason instanceof PassDeadlineExceeded)) return error;
  const reason = signal.reason;
  if (error === reason) return new Error(`The pass did not finish: ${reason.message}`);
  const message = error instanceof Error ? error.message : String(error);
  return new Error(message.includes(reason.message) ? message : `${message} (${reason.message})`);
}

export type { DeploymentStatus };
