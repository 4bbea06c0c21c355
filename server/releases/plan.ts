/**
 * The reconciler's brain, as a pure function: given a deployment (the desired state), what the
 * target looks like now, the gates' verdict and the time, choose the ONE next action. Each pass
 * observes afresh, so an action interrupted by a crash is simply chosen again, and an action that
 * already took effect is not (its effect is observed).
 */
import {
  otherSlot,
  type Observed,
  type Slot,
  type SlotMetrics,
  type TrafficGuardSpec,
  type Weights,
  type WindowMetrics,
} from "../targets/driver.ts";
import { allPass, cutOffVerdict, firstFailure, type Baseline, type GateVerdict } from "./judge/judge.ts";
import type { Policy } from "./policy.ts";
import { computeFigures, type DeploymentFigures } from "./figures.ts";
import type { DeploymentStatus } from "./state-machine.ts";
import type { RollbackReason, TimelineKind } from "./vocabulary.ts";
import { formatDuration } from "../../lib/format.ts";

export interface DeploymentSnapshot {
  id: string;
  status: DeploymentStatus;
  releaseId: string;
  releaseVersion: string;
  fromReleaseId: string | null;
  targetSlot: Slot;
  fromSlot: Slot;
  policy: Policy;
  stepIndex: number;
  stepReachedAt: Date | null;
  phaseStartedAt: Date;
  skipBake: boolean;
  smokeAttempt: number;
  baseline: Baseline | null;
  /** Failed gate measurements of the current step, for the policy's failure limits. */
  gateFailures: GateFailures | null;
  breachAt: Date | null;
  rollbackCompletedAt: Date | null;
  rollbackHooksRanAt: Date | null;
  outcome: DeploymentStatus | null;
  hasRollbackHooks: boolean;
  startedAt: Date;
  /** When the new release first received traffic, as the panel recorded it (the first step reached). */
  trafficStartedAt: Date | null;
  /** What the rollback was, if any (a person's command has no breach). */
  rollbackReasonKind: RollbackReason["kind"] | null;
}

export interface TimelineEntry {
  kind: TimelineKind;
  message: string;
  data?: Record<string, unknown>;
}

/** Failed measurements in a step (failure limits): how many, how many in a row, and the last one's time. */
export interface GateFailures {
  stepIndex: number;
  total: number;
  consecutive: number;
  /** Epoch ms of the last measurement counted (at most one a second counts). */
  lastAt: number;
}

/** What a pass that may end the deployment has observed for its figures (see mayFinish). */
export interface ClosingFacts {
  secondsWithoutSuccess: number;
  /** The release's failed requests from its first traffic to 100 % back on live, and the first's time. */
  exposure: { errors: number; firstErrorAt: Date | null } | null;
}

/** What the environment row becomes with a transition: the live slot after a success, and when the old one is scaled down. */
export interface EnvironmentPatch {
  liveSlot: Slot;
  liveReleaseId: string;
  scaleDownSlot?: Slot;
  scaleDownAt?: Date;
}

/** Fields of the deployment row an action may change. */
export interface DeploymentPatch {
  stepIndex?: number;
  stepReachedAt?: Date | null;
  phaseStartedAt?: Date;
  skipBake?: boolean;
  smokeAttempt?: number;
  baseline?: Baseline | null;
  gateFailures?: GateFailures | null;
  /** When the new release first received traffic (the first step reached). */
  trafficStartedAt?: Date;
  breachAt?: Date;
  rollbackReason?: RollbackReason;
  rollbackCompletedAt?: Date;
  rollbackHooksRanAt?: Date;
  outcome?: DeploymentStatus;
  failureReason?: string;
  /** The deployment's figures, when it ends. */
  figures?: DeploymentFigures;
}

export type SmokeRound = "pre_traffic" | "full_traffic";

export type Action =
  | { kind: "wait"; reason: string; retryInMs: number; gates?: GateVerdict[] }
  | { kind: "ensureRelease"; slot: Slot }
  /** With `guard` while the new slot takes part of the traffic (see TrafficGuardSpec). */
  | { kind: "setWeights"; weights: Weights; guard?: TrafficGuardSpec }
  | { kind: "runSmoke"; round: SmokeRound }
  | { kind: "runRollbackHooks" }
  | { kind: "scaleDown"; slot: Slot }
  /** Persist: a new status (or, with `to` equal to the current status, a patch of the same phase), and the environment's row with it. */
  | {
      kind: "transition";
      to: DeploymentStatus;
      patch: DeploymentPatch;
      event: TimelineEntry;
      gates?: GateVerdict[];
      environment?: EnvironmentPatch;
    };

export interface PassInput {
  observed: Observed;
  /** Gates evaluated over the current bake or validation window (shifting and validating only). */
  gates: GateVerdict[] | null;
  metrics: WindowMetrics | null;
  now: Date;
  /** Why no new traffic step may start now (the end of a maintenance window), or null. */
  stepHold?: string | null;
  /** The smoke checks recorded for the current attempt (smoke testing only), or null before they ran. */
  smoke?: { failed: string[] } | null;
  /** Observed when the pass may end the deployment (mayFinish). */
  closing?: ClosingFacts | null;
}

/** Whether a pass may end the deployment, so the reconciler observes its closing facts first. */
export function mayFinish(d: DeploymentSnapshot, now: Date): boolean {
  if (d.status === "rolling_back") return d.rollbackCompletedAt !== null;
  if (d.status === "validating") return bakeWindow(d, now)?.over ?? false;
  return false;
}

/** The figures of a deployment ending now as `to`. */
function closingFigures(d: DeploymentSnapshot, input: PassInput, to: DeploymentStatus): DeploymentFigures {
  const green = input.metrics?.slots[d.targetSlot];
  const exposure = to === "rolled_back" ? (input.closing?.exposure ?? null) : null;
  const baseline = d.baseline;
  return computeFigures({
    startedAt: d.startedAt,
    finishedAt: input.now,
    breachAt: d.breachAt,
    rollbackCompletedAt: d.rollbackCompletedAt,
    manual: d.rollbackReasonKind === "manual",
    onsetAt: exposure?.firstErrorAt ?? null,
    failedRequests: exposure?.errors ?? null,
    greenErrorRatePercent: to === "succeeded" && green && green.errorRate !== null ? green.errorRate * 100 : null,
    baselineErrorRatePercent:
      to === "succeeded"
        ? baseline
          ? (baseline.errors / Math.max(1, baseline.requests)) * 100
          : d.fromReleaseId
            ? null
            : 0
        : null,
    secondsWithoutSuccess: input.closing?.secondsWithoutSuccess ?? 0,
  });
}

/** The traffic steps this deployment walks: straight to 100% when there is nothing live to shift from. */
export function effectiveSteps(d: Pick<DeploymentSnapshot, "fromReleaseId" | "policy">): number[] {
  return d.fromReleaseId ? d.policy.steps : [100];
}

/** The new release's error-rate ceiling, for targets that guard traffic themselves, while it takes part of the traffic. */
export function guardFor(
  d: Pick<DeploymentSnapshot, "id" | "targetSlot" | "policy">,
  percent: number,
): TrafficGuardSpec | undefined {
  if (percent <= 0 || percent >= 100) return undefined;
  return {
    key: d.id,
    slot: d.targetSlot,
    ceilingPercent: d.policy.gates.errorRate.maxPercent,
    confidence: d.policy.gates.confidencePercent / 100,
  };
}

export function weightsFor(d: Pick<DeploymentSnapshot, "targetSlot">, targetPercent: number): Weights {
  return { [d.targetSlot]: targetPercent, [otherSlot(d.targetSlot)]: 100 - targetPercent } as Weights;
}

const sameWeights = (a: Weights, b: Weights) => a.blue === b.blue && a.green === b.green;

/**
 * The one bake wait, for traffic steps and the validation window alike: when the current window
 * started, when it ends, and whether it is over ("promote now" ends it at once).
 */
export function bakeWindow(
  d: Pick<DeploymentSnapshot, "status" | "stepReachedAt" | "phaseStartedAt" | "skipBake" | "policy">,
  now: Date,
): { from: Date; endsAt: Date; over: boolean } | null {
  const from = d.status === "shifting" ? d.stepReachedAt : d.status === "validating" ? d.phaseStartedAt : null;
  if (!from) return null;
  const endsAt = new Date(
    from.getTime() + (d.status === "validating" ? d.policy.validationSeconds : d.policy.bakeSeconds) * 1000,
  );
  return { from, endsAt, over: d.skipBake || now.getTime() >= endsAt.getTime() };
}

export function smokeRound(
  d: Pick<DeploymentSnapshot, "stepIndex" | "stepReachedAt" | "fromReleaseId" | "policy">,
): SmokeRound {
  const steps = effectiveSteps(d);
  return d.stepIndex === steps.length - 1 && d.stepReachedAt !== null ? "full_traffic" : "pre_traffic";
}

function fail(reason: string, gates?: GateVerdict[]): Action {
  return {
    kind: "transition",
    to: "rolling_back",
    patch: { outcome: "failed", failureReason: reason },
    event: { kind: "failed", message: reason },
    gates,
  };
}

function rollBackOnGate(
  d: DeploymentSnapshot,
  failure: GateVerdict,
  gates: GateVerdict[],
  now: Date,
  weight: number,
  breachAt: Date = now,
): Action {
  return {
    kind: "transition",
    to: "rolling_back",
    patch: {
      outcome: "rolled_back",
      breachAt,
      rollbackReason: {
        kind: "gate",
        gate: failure.gate,
        observed: failure.observed,
        threshold: failure.threshold,
        stepIndex: d.stepIndex,
        weight,
        detail: failure.detail,
        explanation: failure.explanation,
      },
      gateFailures: null,
    },
    event: {
      kind: "gate_failed",
      message: `At ${weight} % on ${d.targetSlot}: ${failure.detail}. Rolling back.`,
      data: {
        gate: failure.gate,
        observed: failure.observed,
        threshold: failure.threshold,
        stepIndex: d.stepIndex,
        weight,
        explanation: failure.explanation,
      },
    },
    gates,
  };
}

/**
 * A failing measurement under the policy's failure limits: roll back once the limit is reached,
 * else count it (at most one measurement a second counts) and wait.
 */
function onFailingGate(
  d: DeploymentSnapshot,
  failure: GateVerdict,
  gates: GateVerdict[],
  now: Date,
  weight: number,
): Action {
  const { failureLimit, consecutiveFailureLimit } = d.policy.gates;
  const current =
    d.gateFailures && d.gateFailures.stepIndex === d.stepIndex
      ? d.gateFailures
      : { stepIndex: d.stepIndex, total: 0, consecutive: 0, lastAt: 0 };
  if (now.getTime() - current.lastAt < 1000)
    return {
      kind: "wait",
      reason: `Gate failing: ${failure.detail}`,
      retryInMs: Math.max(50, current.lastAt + 1000 - now.getTime()),
      gates,
    };
  const next: GateFailures = {
    stepIndex: d.stepIndex,
    total: current.total + 1,
    consecutive: current.consecutive + 1,
    lastAt: now.getTime(),
  };
  if (next.total >= failureLimit || (consecutiveFailureLimit !== null && next.consecutive >= consecutiveFailureLimit))
    return rollBackOnGate(d, failure, gates, now, weight);
  const limits = [
    `${next.total} of ${failureLimit} allowed`,
    ...(consecutiveFailureLimit !== null ? [`${next.consecutive} of ${consecutiveFailureLimit} in a row`] : []),
  ].join(", ");
  return {
    kind: "transition",
    to: d.status,
    patch: { gateFailures: next },
    event: {
      kind: "gate_measurement_failed",
      message: `At ${weight} % on ${d.targetSlot}, a measurement failed (${limits}): ${failure.detail}`,
      data: { gate: failure.gate, ...next },
    },
    gates,
  };
}

/** A passing measurement ends a run of failures (their total still counts). */
function afterPassingMeasurement(d: DeploymentSnapshot): Action | null {
  if (!d.gateFailures || d.gateFailures.stepIndex !== d.stepIndex || d.gateFailures.consecutive === 0) return null;
  return {
    kind: "transition",
    to: d.status,
    patch: { gateFailures: { ...d.gateFailures, consecutive: 0 } },
    event: {
      kind: "gate_measurement_recovered",
      message: `The gates pass again after ${d.gateFailures.consecutive} failed measurement(s) in a row`,
    },
  };
}

/** Live's figures in the window just judged, kept for the validation window at 100 % (where live has no traffic). */
function baselineFrom(metrics: WindowMetrics | null, d: DeploymentSnapshot): Baseline | null {
  const live = metrics?.slots[d.fromSlot];
  if (!live || live.requests < d.policy.gates.minRequests) return d.baseline;
  return {
    requests: live.requests,
    errors: live.errors,
    p95: live.p95,
    ...(live.latency ? { latency: live.latency } : {}),
  };
}

function summary(metrics: WindowMetrics | null, d: DeploymentSnapshot) {
  if (!metrics) return undefined;
  const figures = ({ requests, errors, errorRate, p50, p95, p99 }: SlotMetrics) => ({
    requests,
    errors,
    errorRate,
    p50,
    p95,
    p99,
  });
  return {
    green: figures(metrics.slots[d.targetSlot]),
    live: figures(metrics.slots[d.fromSlot]),
    from: metrics.from.toISOString(),
    to: metrics.to.toISOString(),
  };
}

export function decide(d: DeploymentSnapshot, input: PassInput): Action {
  const { observed, gates, metrics, now } = input;
  const steps = effectiveSteps(d);
  // The target's traffic guard has already moved all traffic off this release: record the rollback it did.
  const cutOff = observed.cutOff?.key === d.id ? observed.cutOff : null;
  if (cutOff && (d.status === "shifting" || d.status === "paused")) {
    const verdict = cutOffVerdict(cutOff, otherSlot(d.targetSlot));
    const rollback = rollBackOnGate(d, verdict, [verdict], now, steps[d.stepIndex] ?? 0, cutOff.at);
    // The guard can act before the panel records the first step. Traffic began no earlier than the
    // shifting phase, so that is where what the release served (its onset and blast radius) is read from.
    if (!d.trafficStartedAt && rollback.kind === "transition")
      rollback.patch = { ...rollback.patch, trafficStartedAt: d.phaseStartedAt };
    return rollback;
  }
  switch (d.status) {
    case "preparing":
      return {
        kind: "transition",
        to: "deploying_green",
        patch: { phaseStartedAt: now },
        event: {
          kind: "phase",
          message: d.fromReleaseId
            ? `Deploying ${d.releaseVersion} to the idle ${d.targetSlot} slot`
            : `Deploying ${d.releaseVersion} to the ${d.targetSlot} slot (first release here: nothing live to shift from, so traffic goes straight to 100% after smoke tests)`,
        },
      };

    case "deploying_green": {
      const slot = observed.slots[d.targetSlot];
      if (slot.releaseId !== d.releaseId) return { kind: "ensureRelease", slot: d.targetSlot };
      if (slot.rollout === "failed")
        return fail(
          `The ${d.targetSlot} slot failed to start ${d.releaseVersion}: ${slot.detail ?? "no reason given"}`,
        );
      if (slot.rollout === "steady" && slot.healthy >= Math.max(1, slot.desired)) {
        return {
          kind: "transition",
          to: "smoke_testing",
          patch: { phaseStartedAt: now, smokeAttempt: d.smokeAttempt + 1 },
          event: {
            kind: "phase",
            message: `${d.releaseVersion} is running and healthy on ${d.targetSlot} (${slot.healthy}/${slot.desired}); smoke tests before any traffic`,
          },
        };
      }
      const elapsed = now.getTime() - d.phaseStartedAt.getTime();
      if (elapsed > d.policy.greenReadyTimeoutSeconds * 1000) {
        return fail(
          `${d.targetSlot} did not become ready within ${d.policy.greenReadyTimeoutSeconds} s: ${slot.detail ?? `${slot.running}/${slot.desired} running, ${slot.healthy} healthy`}`,
        );
      }
      return {
        kind: "wait",
        reason: `Waiting for ${d.targetSlot} to become ready: ${slot.running}/${slot.desired} running, ${slot.healthy} healthy`,
        retryInMs: 250,
      };
    }

    case "smoke_testing":
      // The checks run once per attempt; what they found decides the next pass.
      return input.smoke
        ? afterSmoke(d, smokeRound(d), input.smoke.failed, now)
        : { kind: "runSmoke", round: smokeRound(d) };

    case "shifting": {
      const percent = steps[d.stepIndex]!;
      const desired = weightsFor(d, percent);
      if (!sameWeights(observed.weights, desired)) {
        if (input.stepHold && !d.stepReachedAt) return { kind: "wait", reason: input.stepHold, retryInMs: 5000 };
        return { kind: "setWeights", weights: desired, guard: guardFor(d, percent) };
      }
      if (!d.stepReachedAt) {
        return {
          kind: "transition",
          to: "shifting",
          patch: { stepReachedAt: now, ...(d.stepIndex === 0 ? { trafficStartedAt: now } : {}) },
          event: {
            kind: "step",
            message: `Step ${d.stepIndex + 1} of ${steps.length}: ${percent}% of traffic on ${d.targetSlot}`,
            data: { stepIndex: d.stepIndex, weights: desired },
          },
        };
      }
      const waited = waitForBakeAndGates(d, input, `Baking step ${d.stepIndex + 1}`, percent);
      if (waited) return waited;
      const passed: TimelineEntry = {
        kind: "step_passed",
        message: `Step ${d.stepIndex + 1} (${percent}%) ${d.skipBake ? "promoted early" : "passed its gates"}`,
        data: { stepIndex: d.stepIndex, weight: percent, promoted: d.skipBake, metrics: summary(metrics, d) },
      };
      const baseline = baselineFrom(metrics, d);
      if (d.stepIndex < steps.length - 1) {
        return {
          kind: "transition",
          to: "shifting",
          patch: { stepIndex: d.stepIndex + 1, stepReachedAt: null, skipBake: false, baseline, gateFailures: null },
          event: passed,
          gates: gates ?? undefined,
        };
      }
      return {
        kind: "transition",
        to: "smoke_testing",
        patch: { phaseStartedAt: now, smokeAttempt: d.smokeAttempt + 1, skipBake: false, baseline, gateFailures: null },
        event: { ...passed, message: `${passed.message}; all traffic on ${d.targetSlot}, smoke tests at 100%` },
        gates: gates ?? undefined,
      };
    }

    case "validating": {
      const desired = weightsFor(d, 100);
      if (!sameWeights(observed.weights, desired)) return { kind: "setWeights", weights: desired };
      const waited = waitForBakeAndGates(d, input, "Validating at 100%", 100);
      if (waited) return waited;
      return {
        kind: "transition",
        to: "succeeded",
        patch: { skipBake: false, gateFailures: null, figures: closingFigures(d, input, "succeeded") },
        event: {
          kind: "succeeded",
          message: `${d.releaseVersion} is live on ${d.targetSlot}`,
          data: { metrics: summary(metrics, d) },
        },
        gates: gates ?? undefined,
        environment: {
          liveSlot: d.targetSlot,
          liveReleaseId: d.releaseId,
          // The former live slot is scaled down after the policy's delay (there is none on a first release).
          ...(d.fromReleaseId
            ? {
                scaleDownSlot: d.fromSlot,
                scaleDownAt: new Date(now.getTime() + d.policy.scaleDownDelaySeconds * 1000),
              }
            : {}),
        },
      };
    }

    case "paused":
      return { kind: "wait", reason: "Paused", retryInMs: 1000 };

    case "rolling_back": {
      const desired = weightsFor(d, 0);
      if (!sameWeights(observed.weights, desired)) return { kind: "setWeights", weights: desired };
      if (!d.rollbackCompletedAt) {
        // Where the traffic guard moved the traffic, it was back on live from that moment, whenever the panel saw it.
        const restoredAt = cutOff && cutOff.at.getTime() <= now.getTime() ? cutOff.at : now;
        const after = d.breachAt
          ? ` ${formatDuration((restoredAt.getTime() - d.breachAt.getTime()) / 1000)} after the ${d.outcome === "rolled_back" ? "breach" : "failure"}`
          : "";
        return {
          kind: "transition",
          to: "rolling_back",
          patch: { rollbackCompletedAt: restoredAt },
          event: {
            kind: "traffic_restored",
            message: `All traffic back on ${d.fromSlot}${after}${cutOff ? " (moved by the traffic guard)" : ""}`,
            data: {
              weights: desired,
              breachToRestoredMs: d.breachAt ? restoredAt.getTime() - d.breachAt.getTime() : null,
            },
          },
        };
      }
      if (d.outcome === "rolled_back" && d.hasRollbackHooks && !d.rollbackHooksRanAt)
        return { kind: "runRollbackHooks" };
      // Done once nothing more is wanted there: draining tasks (ECS deregistration delay) need not be waited for.
      if (observed.slots[d.targetSlot].desired > 0) return { kind: "scaleDown", slot: d.targetSlot };
      const to = d.outcome === "aborted" || d.outcome === "failed" ? d.outcome : "rolled_back";
      return {
        kind: "transition",
        to,
        patch: { figures: closingFigures(d, input, to) },
        event: {
          kind: to,
          message:
            to === "rolled_back"
              ? `Rolled back: ${d.fromSlot} serves all traffic, ${d.targetSlot} is scaled down`
              : to === "aborted"
                ? "Aborted before any traffic moved"
                : `Failed; ${d.fromSlot} serves all traffic`,
        },
      };
    }

    default:
      return { kind: "wait", reason: `Nothing to do in ${d.status}`, retryInMs: 5000 };
  }
}

/**
 * The one bake-and-gates wait of a traffic step or the validation window: a failing gate rolls back
 * (within the failure limits) at any time; otherwise wait for the bake to end and, unless a person
 * promoted the step, for every gate to pass. Null when the window is done and passed.
 */
function waitForBakeAndGates(d: DeploymentSnapshot, input: PassInput, label: string, weight: number): Action | null {
  const { gates, now } = input;
  const failure = gates ? firstFailure(gates) : undefined;
  if (failure && gates) return onFailingGate(d, failure, gates, now, weight);
  if (gates) {
    const recovered = afterPassingMeasurement(d);
    if (recovered) return recovered;
  }
  const bake = bakeWindow(d, now);
  const every = lookEveryMs(d, input);
  if (bake && !bake.over) {
    const left = bake.endsAt.getTime() - now.getTime();
    return {
      kind: "wait",
      reason: `${label}: ${formatDuration(left / 1000)} left`,
      retryInMs: Math.min(every, Math.max(50, left)),
      gates: gates ?? undefined,
    };
  }
  // "Promote now" skips the bake and the wait for enough traffic; a failing gate still rolls back.
  if (!d.skipBake && (!gates || !allPass(gates))) {
    const waiting = gates?.find((g) => g.outcome === "waiting");
    return {
      kind: "wait",
      reason: waiting?.detail ?? "waiting for metrics",
      retryInMs: every,
      gates: gates ?? undefined,
    };
  }
  return null;
}

/** How often a waiting step looks at its gates while the new release serves traffic, and while it serves none. */
export const LOOK_EVERY_MS = { serving: 200, idle: 1000 } as const;

/**
 * Looks come often while the new release serves requests: a failing release is caught within a
 * fraction of a second. While it has served none in the window, there is nothing to catch yet, and a
 * look a second is enough (a panel with a hundred deployments waiting for traffic would otherwise
 * spend its CPU and database on looks that cannot find anything).
 */
export function lookEveryMs(d: DeploymentSnapshot, input: PassInput): number {
  const served = input.metrics?.slots[d.targetSlot].requests;
  return served === 0 ? LOOK_EVERY_MS.idle : LOOK_EVERY_MS.serving;
}

/**
 * The environment's own chore: scale the former live slot down once its delay has passed (and no
 * deployment is active there: a new one may be about to use it).
 */
export function decideChore(
  env: { scaleDownSlot: Slot | null; scaleDownAt: Date | null; activeDeployment: boolean },
  now: Date,
): { kind: "scaleDown"; slot: Slot } | null {
  if (env.activeDeployment || !env.scaleDownSlot || !env.scaleDownAt || env.scaleDownAt.getTime() > now.getTime())
    return null;
  return { kind: "scaleDown", slot: env.scaleDownSlot };
}

/** What a finished smoke-test round leads to. */
export function afterSmoke(d: DeploymentSnapshot, round: SmokeRound, failed: string[], now: Date): Action {
  if (round === "pre_traffic") {
    if (failed.length > 0)
      return fail(`Smoke tests failed on ${d.targetSlot} before any traffic: ${failed.join(", ")}`);
    return {
      kind: "transition",
      to: "shifting",
      patch: { stepIndex: 0, stepReachedAt: null, phaseStartedAt: now },
      event: { kind: "smoke_passed", message: "Smoke tests passed before traffic; shifting traffic" },
    };
  }
  if (failed.length > 0) {
    return {
      kind: "transition",
      to: "rolling_back",
      patch: { outcome: "rolled_back", breachAt: now, rollbackReason: { kind: "smoke", checks: failed } },
      event: { kind: "smoke_failed", message: `Smoke tests failed at 100%: ${failed.join(", ")}. Rolling back.` },
    };
  }
  return {
    kind: "transition",
    to: "validating",
    patch: { phaseStartedAt: now, skipBake: false },
    event: {
      kind: "smoke_passed",
      message: `Smoke tests passed at 100%; validating for ${d.policy.validationSeconds} s`,
    },
  };
}
