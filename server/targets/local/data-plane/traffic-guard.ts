/**
 * The traffic guard: the judge's error-rate ceiling, run by the data plane on every response of the
 * new release's slot, so that a release failing obviously loses its traffic within a few requests
 * however busy the panel is (the panel's event loop also renders pages and fans out sockets; the data
 * plane has its own process, ahead of the panel's priority).
 *
 * The panel arms it with the deployment's id, the new slot, the ceiling and the confidence whenever it
 * sets weights that give the new slot part of the traffic. From then on every response of that slot is
 * counted, and once the exact binomial test is sure, at the policy's confidence, that the slot fails
 * more often than the ceiling, all traffic goes back to the other slot at once. The trip stays until
 * the panel has seen it: weights asked for again under the same deployment keep the traffic where the
 * guard put it; the panel rolls the deployment back and records when traffic was back on live.
 *
 * It is disarmed by weights without a guard (a rollback, a person's change), and by weights that give
 * the guarded slot none or all of the traffic: at 100 % the other slot is about to be scaled down, and
 * a guard left armed after a success must never send traffic back to a release being retired.
 * Pure: the data plane feeds it responses and applies the weights it returns.
 */
import { z } from "zod";
import { shareAgainstCeiling } from "../../../stats/ceiling.ts";
import type { Slot, Weights } from "../../driver.ts";

export const guardBody = z.object({
  /** The deployment the guard watches for: a trip is reported under it, and only it. */
  key: z.string().min(1, "must name the deployment").max(100, "must be at most 100 characters"),
  slot: z.enum(["blue", "green"], { error: "must be blue or green" }),
  ceilingPercent: z.number().gt(0, "must be above 0 and at most 100").max(100, "must be above 0 and at most 100"),
  confidence: z.number().gt(0.5, "must be above 0.5 and below 1").lt(1, "must be above 0.5 and below 1"),
});
export type GuardSpec = z.infer<typeof guardBody>;

export interface GuardTrip {
  key: string;
  slot: Slot;
  /** When all traffic went back to the other slot (epoch ms). */
  at: number;
  requests: number;
  errors: number;
  ceilingPercent: number;
  /** How sure the test was that the slot fails more often than the ceiling. */
  confidence: number;
  /** The weights the guard set. */
  weights: Weights;
}

export interface GuardState {
  armed: { key: string; slot: Slot; requests: number; errors: number } | null;
  tripped: GuardTrip | null;
}

const other = (slot: Slot): Slot => (slot === "blue" ? "green" : "blue");

export class TrafficGuard {
  private armed: (GuardSpec & { requests: number; errors: number }) | null = null;
  private tripped: GuardTrip | null = null;

  /** The weights to route by when the panel asks for `weights` (with its guard, or none). */
  apply(weights: Weights, spec: GuardSpec | null): Weights {
    if (spec && this.tripped?.key === spec.key) return this.tripped.weights;
    if (!spec || spec.key !== this.tripped?.key) this.tripped = null;
    const share = spec ? weights[spec.slot] : 0;
    if (!spec || share === 0 || share === 100) {
      this.armed = null;
      return weights;
    }
    // The same deployment's next step keeps what was counted: the ceiling is the release's, over all its steps.
    const counted =
      this.armed?.key === spec.key && this.armed.slot === spec.slot ? this.armed : { requests: 0, errors: 0 };
    this.armed = { ...spec, requests: counted.requests, errors: counted.errors };
    return weights;
  }

  /** One response of `slot`: the weights to route by from now on when it trips the guard, else null. */
  observe(slot: Slot, failed: boolean, at: number): Weights | null {
    const armed = this.armed;
    if (!armed || slot !== armed.slot) return null;
    armed.requests++;
    if (failed) armed.errors++;
    else return null;
    const test = shareAgainstCeiling(armed.errors, armed.requests, armed.ceilingPercent / 100, armed.confidence);
    if (test.direction !== "above") return null;
    const weights = { [armed.slot]: 0, [other(armed.slot)]: 100 } as Weights;
    this.tripped = {
      key: armed.key,
      slot: armed.slot,
      at,
      requests: armed.requests,
      errors: armed.errors,
      ceilingPercent: armed.ceilingPercent,
      confidence: test.confidence,
      weights,
    };
    this.armed = null;
    return weights;
  }

  state(): GuardState {
    const armed = this.armed;
    return {
      armed: armed ? { key: armed.key, slot: armed.slot, requests: armed.requests, errors: armed.errors } : null,
      tripped: this.tripped,
    };
  }
}
