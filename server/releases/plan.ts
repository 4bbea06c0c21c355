/**
 * The reconciler's brain, as a pure function: given a deployment (the desired state), what the
 * target looks like now, the gates' verdict and the time, choose the ONE next action. Each pass
 * observes afresh, so an action interrupted by a crash is simply chosen again, and an action that
 * already took effect is not (its effect is observed).
 */
import { otherSlot, type Observed, type Slot, type Weights, type WindowMetrics } from "../targets/driver.ts";
import { allPass, firstFailure, type Baseline, type GateResult } from "./gates.ts";
import type { Policy } from "./policy.ts";
import type { DeploymentStatus } from "./state-machine.ts";

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
  breachAt: Date | null;
  rollbackCompletedAt: Date | null;
  rollbackHooksRanAt: Date | null;
  outcome: DeploymentStatus | null;
  hasRollbackHooks: boolean;
}

export interface TimelineEntry {
  kind: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Fields of the deployment row an action may change. */
export interface DeploymentPatch {
  stepIndex?: number;
  stepReachedAt?: Date | null;
  phaseStartedAt?: Date;
  skipBake?: boolean;
  smokeAttempt?: number;
  baseline?: Baseline | null;
  breachAt?: Date;
  rollbackReason?: Record<string, unknown>;
  rollbackCompletedAt?: Date;
  rollbackHooksRanAt?: Date;
  outcome?: DeploymentStatus;
  failureReason?: string;
}

export type SmokeRound = "pre_traffic" | "full_traffic";

export type Action =
  | { kind: "wait"; reason: string; retryInMs: number; gates?: GateResult[] }
  | { kind: "ensureRelease"; slot: Slot }
  | { kind: "setWeights"; weights: Weights }
  | { kind: "runSmoke"; round: SmokeRound }
  | { kind: "runRollbackHooks" }
  | { kind: "scaleDown"; slot: Slot }
  /** Persist: a new status (or, with `to` equal to the current status, a patch of the same phase). */
  | { kind: "transition"; to: DeploymentStatus; patch: DeploymentPatch; event: TimelineEntry; gates?: GateResult[] };

export interface PassInput {
  observed: Observed;
  /** Gates evaluated over the current bake or validation window (shifting and validating only). */
  gates: GateResult[] | null;
  metrics: WindowMetrics | null;
  now: Date;
  /** Why no new traffic step may start now (the end of a maintenance window), or null. */
  stepHold?: string | null;
}

/** The traffic steps this deployment walks: straight to 100% when there is nothing live to shift from. */
export function effectiveSteps(d: Pick<DeploymentSnapshot, "fromReleaseId" | "policy">): number[] {
  return d.fromReleaseId ? d.policy.steps : [100];
}

export function weightsFor(d: Pick<DeploymentSnapshot, "targetSlot">, targetPercent: number): Weights {
  return { [d.targetSlot]: targetPercent, [otherSlot(d.targetSlot)]: 100 - targetPercent } as Weights;
}

const sameWeights = (a: Weights, b: Weights) => a.blue === b.blue && a.green === b.green;
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function smokeRound(d: Pick<DeploymentSnapshot, "stepIndex" | "stepReachedAt" | "fromReleaseId" | "policy">): SmokeRound {
  const steps = effectiveSteps(d);
  return d.stepIndex === steps.length - 1 && d.stepReachedAt !== null ? "full_traffic" : "pre_traffic";
}

function fail(reason: string, gates?: GateResult[]): Action {
  return { kind: "transition", to: "rolling_back", patch: { outcome: "failed", failureReason: reason }, event: { kind: "failed", message: reason }, gates };
}

function rollBackOnGate(d: DeploymentSnapshot, failure: GateResult, gates: GateResult[], now: Date, weight: number): Action {
  return {
    kind: "transition",
    to: "rolling_back",
    patch: {
      outcome: "rolled_back",
      breachAt: now,
      rollbackReason: { kind: "gate", gate: failure.gate, observed: failure.observed, threshold: failure.threshold, stepIndex: d.stepIndex, weight, detail: failure.detail },
    },
    event: {
      kind: "gate_failed",
      message: `Gate ${failure.gate} failed at ${weight}% on ${d.targetSlot}: observed ${failure.observed}, threshold ${failure.threshold}. Rolling back.`,
      data: { gate: failure.gate, observed: failure.observed, threshold: failure.threshold, stepIndex: d.stepIndex, weight },
    },
    gates,
  };
}

function summary(metrics: WindowMetrics | null, d: DeploymentSnapshot) {
  if (!metrics) return undefined;
  return { green: metrics.slots[d.targetSlot], live: metrics.slots[d.fromSlot], from: metrics.from.toISOString(), to: metrics.to.toISOString() };
}

export function decide(d: DeploymentSnapshot, input: PassInput): Action {
  const { observed, gates, metrics, now } = input;
  const steps = effectiveSteps(d);
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
      if (slot.rollout === "failed") return fail(`The ${d.targetSlot} slot failed to start ${d.releaseVersion}: ${slot.detail ?? "no reason given"}`);
      if (slot.rollout === "steady" && slot.healthy >= Math.max(1, slot.desired)) {
        return {
          kind: "transition",
          to: "smoke_testing",
          patch: { phaseStartedAt: now, smokeAttempt: d.smokeAttempt + 1 },
          event: { kind: "phase", message: `${d.releaseVersion} is running and healthy on ${d.targetSlot} (${slot.healthy}/${slot.desired}); smoke tests before any traffic` },
        };
      }
      const elapsed = now.getTime() - d.phaseStartedAt.getTime();
      if (elapsed > d.policy.greenReadyTimeoutSeconds * 1000) {
        return fail(`${d.targetSlot} did not become ready within ${d.policy.greenReadyTimeoutSeconds} s: ${slot.detail ?? `${slot.running}/${slot.desired} running, ${slot.healthy} healthy`}`);
      }
      return { kind: "wait", reason: `Waiting for ${d.targetSlot} to become ready: ${slot.running}/${slot.desired} running, ${slot.healthy} healthy`, retryInMs: 250 };
    }

    case "smoke_testing":
      return { kind: "runSmoke", round: smokeRound(d) };

    case "shifting": {
      const percent = steps[d.stepIndex]!;
      const desired = weightsFor(d, percent);
      if (!sameWeights(observed.weights, desired)) {
        if (input.stepHold && !d.stepReachedAt) return { kind: "wait", reason: input.stepHold, retryInMs: 5000 };
        return { kind: "setWeights", weights: desired };
      }
      if (!d.stepReachedAt) {
        return {
          kind: "transition",
          to: "shifting",
          patch: { stepReachedAt: now },
          event: { kind: "step", message: `Step ${d.stepIndex + 1} of ${steps.length}: ${percent}% of traffic on ${d.targetSlot}`, data: { stepIndex: d.stepIndex, weights: desired } },
        };
      }
      const failure = gates ? firstFailure(gates) : undefined;
      if (failure && gates) return rollBackOnGate(d, failure, gates, now, percent);
      const bakeEnds = d.stepReachedAt.getTime() + d.policy.bakeSeconds * 1000;
      if (!d.skipBake && now.getTime() < bakeEnds) {
        return { kind: "wait", reason: `Baking step ${d.stepIndex + 1}: ${seconds(bakeEnds - now.getTime())} s left`, retryInMs: Math.min(1000, Math.max(50, bakeEnds - now.getTime())), gates: gates ?? undefined };
      }
      // "Promote now" skips the bake and the wait for enough traffic; a failing gate still rolls back.
      if (!gates || (!allPass(gates) && !d.skipBake)) {
        const waiting = gates?.find((g) => g.outcome === "waiting");
        return { kind: "wait", reason: waiting?.detail ?? "waiting for metrics", retryInMs: 1000, gates: gates ?? undefined };
      }
      const live = metrics?.slots[d.fromSlot];
      const baseline: Baseline | null =
        live && live.requests >= d.policy.gates.minRequests ? { errorRatePercent: (live.errorRate ?? 0) * 100, p95Ms: live.p95 } : d.baseline;
      const passed: TimelineEntry = {
        kind: "step_passed",
        message: `Step ${d.stepIndex + 1} (${percent}%) ${d.skipBake ? "promoted early" : "passed its gates"}`,
        data: { stepIndex: d.stepIndex, weight: percent, promoted: d.skipBake, metrics: summary(metrics, d) },
      };
      if (d.stepIndex < steps.length - 1) {
        return { kind: "transition", to: "shifting", patch: { stepIndex: d.stepIndex + 1, stepReachedAt: null, skipBake: false, baseline }, event: passed, gates };
      }
      return {
        kind: "transition",
        to: "smoke_testing",
        patch: { phaseStartedAt: now, smokeAttempt: d.smokeAttempt + 1, skipBake: false, baseline },
        event: { ...passed, message: `${passed.message}; all traffic on ${d.targetSlot}, smoke tests at 100%` },
        gates,
      };
    }

    case "validating": {
      const desired = weightsFor(d, 100);
      if (!sameWeights(observed.weights, desired)) return { kind: "setWeights", weights: desired };
      const failure = gates ? firstFailure(gates) : undefined;
      if (failure && gates) return rollBackOnGate(d, failure, gates, now, 100);
      const ends = d.phaseStartedAt.getTime() + d.policy.validationSeconds * 1000;
      if (!d.skipBake && now.getTime() < ends) {
        return { kind: "wait", reason: `Validating at 100%: ${seconds(ends - now.getTime())} s left`, retryInMs: Math.min(1000, Math.max(50, ends - now.getTime())), gates: gates ?? undefined };
      }
      if (!d.skipBake && (!gates || !allPass(gates))) {
        const waiting = gates?.find((g) => g.outcome === "waiting");
        return { kind: "wait", reason: waiting?.detail ?? "waiting for metrics", retryInMs: 1000, gates: gates ?? undefined };
      }
      return {
        kind: "transition",
        to: "succeeded",
        patch: { skipBake: false },
        event: { kind: "succeeded", message: `${d.releaseVersion} is live on ${d.targetSlot}`, data: { metrics: summary(metrics, d) } },
        gates: gates ?? undefined,
      };
    }

    case "paused":
      return { kind: "wait", reason: "Paused", retryInMs: 1000 };

    case "rolling_back": {
      const desired = weightsFor(d, 0);
      if (!sameWeights(observed.weights, desired)) return { kind: "setWeights", weights: desired };
      if (!d.rollbackCompletedAt) {
        const after = d.breachAt ? ` ${seconds(now.getTime() - d.breachAt.getTime())} s after the ${d.outcome === "rolled_back" ? "breach" : "failure"}` : "";
        return {
          kind: "transition",
          to: "rolling_back",
          patch: { rollbackCompletedAt: now },
          event: { kind: "traffic_restored", message: `All traffic back on ${d.fromSlot}${after}`, data: { weights: desired, breachToRestoredMs: d.breachAt ? now.getTime() - d.breachAt.getTime() : null } },
        };
      }
      if (d.outcome === "rolled_back" && d.hasRollbackHooks && !d.rollbackHooksRanAt) return { kind: "runRollbackHooks" };
      // Done once nothing more is wanted there: draining tasks (ECS deregistration delay) need not be waited for.
      if (observed.slots[d.targetSlot].desired > 0) return { kind: "scaleDown", slot: d.targetSlot };
      const to = d.outcome ?? "rolled_back";
      return {
        kind: "transition",
        to,
        patch: {},
        event: { kind: to, message: to === "rolled_back" ? `Rolled back: ${d.fromSlot} serves all traffic, ${d.targetSlot} is scaled down` : to === "aborted" ? "Aborted before any traffic moved" : `Failed; ${d.fromSlot} serves all traffic` },
      };
    }

    default:
      return { kind: "wait", reason: `Nothing to do in ${d.status}`, retryInMs: 5000 };
  }
}

/** What a finished smoke-test round leads to. */
export function afterSmoke(d: DeploymentSnapshot, round: SmokeRound, failed: string[], now: Date): Action {
  if (round === "pre_traffic") {
    if (failed.length > 0) return fail(`Smoke tests failed on ${d.targetSlot} before any traffic: ${failed.join(", ")}`);
    return { kind: "transition", to: "shifting", patch: { stepIndex: 0, stepReachedAt: null, phaseStartedAt: now }, event: { kind: "smoke_passed", message: "Smoke tests passed before traffic; shifting traffic" } };
  }
  if (failed.length > 0) {
    return {
      kind: "transition",
      to: "rolling_back",
      patch: { outcome: "rolled_back", breachAt: now, rollbackReason: { kind: "smoke", checks: failed } },
      event: { kind: "smoke_failed", message: `Smoke tests failed at 100%: ${failed.join(", ")}. Rolling back.` },
    };
  }
  return { kind: "transition", to: "validating", patch: { phaseStartedAt: now, skipBake: false }, event: { kind: "smoke_passed", message: `Smoke tests passed at 100%; validating for ${d.policy.validationSeconds} s` } };
}
