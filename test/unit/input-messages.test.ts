/**
 * Messages people read when their input is refused: each names the field and says what to do, never
 * a library's internals ("expected number, received NaN", "Invalid frequency: undefined undefined").
 */
import { describe, expect, it } from "vitest";
import { windowRuleInput } from "../../server/governance/windows.ts";
import { policySchema, defaultPolicy } from "../../server/releases/policy.ts";
import { metricSeriesInput } from "../../server/releases/queries.ts";
import { describeZodError } from "../../server/trpc/init.ts";

function refusal(schema: { safeParse: (v: unknown) => { success: boolean; error?: unknown } }, value: unknown): string {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  return describeZodError(result.error as Parameters<typeof describeZodError>[0]);
}

describe("refusals name the field in words people can act on", () => {
  it("an empty number box (NaN from the form) is named, not 'expected number, received NaN'", () => {
    expect(refusal(policySchema, { ...defaultPolicy(false), bakeSeconds: Number.NaN })).toBe(
      "Bake in seconds: is empty or not a number; enter a number",
    );
    expect(
      refusal(policySchema, {
        ...defaultPolicy(false),
        gates: { ...defaultPolicy(false).gates, minRequests: Number.NaN },
      }),
    ).toBe("Minimum requests (gates): is empty or not a number; enter a number");
  });

  const window = { name: "Nightly", timezone: "Europe/Berlin", startTime: "01:00", durationMinutes: 60 };
  it.each(["FREQ=SOMETIMES", "FREQ=WEEKLY;BYDAY=XX"])(
    "a recurrence rule rrule cannot use (%s) is refused naming the field, not thrown",
    (rrule) => {
      expect(refusal(windowRuleInput, { ...window, rrule })).toBe(
        "Recurrence rule: must be a recurrence rule such as FREQ=MONTHLY;BYDAY=+2SU (without DTSTART)",
      );
    },
  );

  it("a chart's start far outside any panel's life (the fuzz test's year -197065 overflowed the database: 500)", () => {
    const environmentId = "9a7fba36-594d-4eb3-b9ef-d4afcc9ebdf9";
    expect(refusal(metricSeriesInput, { environmentId, from: "-197065-04-15T14:59:04.726Z" })).toBe(
      "From: must be a date between 2000 and tomorrow",
    );
    expect(refusal(metricSeriesInput, { environmentId, from: "+275760-09-13T00:00:00.000Z" })).toBe(
      "From: must be a date between 2000 and tomorrow",
    );
    expect(
      metricSeriesInput.safeParse({ environmentId, from: new Date(Date.now() - 3_600_000).toISOString() }).success,
    ).toBe(true);
  });
});
