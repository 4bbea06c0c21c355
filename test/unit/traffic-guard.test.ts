/**
 * The data plane's traffic guard (the error-rate ceiling on every response of the new slot): when it
 * is armed, what it counts, when it trips, and that a trip holds until the panel has seen it.
 */
import { describe, expect, it } from "vitest";
import { TrafficGuard, type GuardSpec } from "../../server/targets/local/data-plane/traffic-guard.ts";

const spec: GuardSpec = { key: "d1", slot: "green", ceilingPercent: 5, confidence: 0.99 };
const step = { blue: 90, green: 10 };

/** Feeds `outcomes` ("x" failed, "." succeeded) to green; the weights the guard set, if it tripped. */
function feed(guard: TrafficGuard, outcomes: string, slot: "blue" | "green" = "green") {
  let cut = null;
  for (const [i, c] of [...outcomes].entries()) cut ??= guard.observe(slot, c === "x", 1000 + i);
  return cut;
}

describe("the traffic guard", () => {
  it.each<[string, string, boolean]>([
    ["half of the first requests failing trips it within a few", "x.x.x", true],
    ["0.2 % failing over 1,000 requests does not", `${".".repeat(499)}x${".".repeat(500)}`, false],
    ["one early failure does not", "x.........", false],
    ["3 of 4 failing trips it", "xx.x", true],
  ])("%s", (_name, outcomes, trips) => {
    const guard = new TrafficGuard();
    expect(guard.apply(step, spec)).toEqual(step);
    expect(feed(guard, outcomes) !== null).toBe(trips);
    if (trips)
      expect(guard.state().tripped).toMatchObject({ key: "d1", slot: "green", weights: { blue: 100, green: 0 } });
  });

  it("counts only the guarded slot", () => {
    const guard = new TrafficGuard();
    guard.apply(step, spec);
    expect(feed(guard, "xxxxxxxx", "blue")).toBeNull();
    expect(guard.state().armed).toMatchObject({ requests: 0, errors: 0 });
  });

  it("is not armed without a guard, at 0 % or at 100 %", () => {
    for (const [weights, given] of [
      [step, null],
      [{ blue: 100, green: 0 }, spec],
      [{ blue: 0, green: 100 }, spec],
    ] as const) {
      const guard = new TrafficGuard();
      guard.apply(weights, given);
      expect(feed(guard, "xxxxxxxx")).toBeNull();
    }
  });

  it("holds a trip while the same deployment asks for its step again, and lets the next deployment go", () => {
    const guard = new TrafficGuard();
    guard.apply(step, spec);
    feed(guard, "xxxx");
    expect(guard.apply(step, spec)).toEqual({ blue: 100, green: 0 });
    expect(guard.apply({ blue: 50, green: 50 }, spec)).toEqual({ blue: 100, green: 0 });
    expect(guard.apply(step, { ...spec, key: "d2" })).toEqual(step);
    expect(guard.state().tripped).toBeNull();
  });

  it("keeps counting across the same deployment's steps", () => {
    const guard = new TrafficGuard();
    guard.apply(step, spec);
    feed(guard, "x..");
    guard.apply({ blue: 50, green: 50 }, spec);
    expect(guard.state().armed).toMatchObject({ requests: 3, errors: 1 });
  });

  it("is disarmed by weights without a guard (a rollback)", () => {
    const guard = new TrafficGuard();
    guard.apply(step, spec);
    guard.apply({ blue: 100, green: 0 }, null);
    expect(guard.state().armed).toBeNull();
    expect(feed(guard, "xxxx")).toBeNull();
  });
});
