/** The deployment page's words: gate ids in words, slots by role and colour, figures by what caused a rollback (issue 12 §1, §8). */
import { describe, expect, it } from "vitest";
import { figureItems } from "../../app/(dashboard)/deployments/[id]/figure-items.ts";
import { gateLabel, inWords, slotRole } from "../../app/(dashboard)/deployments/[id]/words.ts";

const figures = {
  durationSeconds: 142.3075860000099,
  breachToRollbackSeconds: null,
  commandToRollbackSeconds: 5.88645499991253,
  onsetToRollbackSeconds: null,
  errorRateChangePp: null,
  secondsWithoutSuccess: 0,
  targets: { durationSeconds: 1800, breachToRollbackSeconds: 300, errorRateChangePp: 0.1, secondsWithoutSuccess: 0 },
};

describe("the deployment page's words", () => {
  it("shows gate ids, old and new, in words", () => {
    expect(inWords("error_rate_absolute failed at 10 %")).toBe("“Error rate” failed at 10 %");
    expect(inWords("latency_p95_ceiling and min_requests")).toBe("“p95 ceiling” and “Requests served”");
    expect(gateLabel("something_new")).toBe("something new");
  });

  it("names slots by their role and colour, whichever colour the release is on", () => {
    const onBlue = { targetSlot: "blue", fromSlot: "green" } as const;
    expect(slotRole("blue", onBlue)).toBe("new release (blue)");
    expect(slotRole("green", onBlue)).toBe("live (green)");
  });

  it("shows no breach figure for a person's rollback, and neither rollback figure without a rollback", () => {
    const manual = figureItems(figures, "manual").map((i) => i.key);
    expect(manual).toContain("commandToRollbackSeconds");
    expect(manual).not.toContain("breachToRollbackSeconds");
    expect(figureItems(figures, "gate").map((i) => i.key)).toContain("breachToRollbackSeconds");
    const none = figureItems(figures, null).map((i) => i.key);
    expect(none).not.toContain("breachToRollbackSeconds");
    expect(none).not.toContain("commandToRollbackSeconds");
    expect(none).not.toContain("onsetToRollbackSeconds");
  });
});
