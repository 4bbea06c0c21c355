/** How many refused pipeline requests an address has audited before it is throttled. */
import { describe, expect, it } from "vitest";
import { refusalVerdict } from "../../server/pipelines/refusal-limit.ts";

const now = new Date("2026-12-02T12:00:00Z");
const ago = (s: number) => new Date(now.getTime() - s * 1000);
const policy = { limit: 3, windowSeconds: 60 };

describe("refusalVerdict", () => {
  const cases: [string, number, Date | null, ReturnType<typeof refusalVerdict>][] = [
    ["the first refusal", 0, null, { record: "refusal" }],
    ["the last one the window has room for", 2, ago(10), { record: "refusal" }],
    [
      "the first past the limit: the throttle starts, until the oldest leaves",
      3,
      ago(10),
      { record: "throttled", retryAfterSeconds: 50 },
    ],
    ["already throttled: nothing is written", 4, ago(59.5), { record: "nothing", retryAfterSeconds: 1 }],
    ["never less than a second to wait", 4, ago(60), { record: "nothing", retryAfterSeconds: 1 }],
  ];
  for (const [what, recorded, oldest, verdict] of cases)
    it(what, () => expect(refusalVerdict(recorded, oldest, now, policy)).toEqual(verdict));
});
