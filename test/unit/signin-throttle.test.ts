import { describe, expect, it } from "vitest";
import { combineThrottle, decideThrottle, type ThrottlePolicy } from "../../server/auth/throttle.ts";

const now = new Date("2026-12-01T12:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const times = (...seconds: number[]) => seconds.map(ago);
const policy: ThrottlePolicy = { maxFailures: 3, maxFailuresPerAddress: 5, windowSeconds: 60 };

describe("decideThrottle", () => {
  it.each([
    { name: "no failures", failures: [], limit: 3, expected: { allowed: true } },
    { name: "below the limit", failures: times(1, 2), limit: 3, expected: { allowed: true } },
    {
      name: "at the limit: wait until the oldest counted one leaves the window",
      failures: times(10, 20, 30),
      limit: 3,
      expected: { allowed: false, retryAfterSeconds: 30 },
    },
    {
      name: "failures outside the window do not count",
      failures: times(61, 90, 10),
      limit: 3,
      expected: { allowed: true },
    },
    {
      name: "over the limit: the limit-th newest decides",
      failures: times(5, 6, 50, 59),
      limit: 3,
      expected: { allowed: false, retryAfterSeconds: 10 },
    },
    {
      name: "never less than a second",
      failures: times(59.9, 59.95, 59.99),
      limit: 3,
      expected: { allowed: false, retryAfterSeconds: 1 },
    },
  ])("$name", ({ failures, limit, expected }) => {
    expect(decideThrottle(failures, now, limit, 60)).toEqual(expected);
  });
});

describe("combineThrottle (account and address together, then the address alone)", () => {
  it.each([
    { name: "fresh", pair: [], address: [], expected: { allowed: true } },
    {
      name: "the pair at its limit",
      pair: times(1, 2, 3),
      address: times(1, 2, 3),
      expected: { allowed: false, reason: "account", retryAfterSeconds: 57 },
    },
    {
      name: "other accounts' failures from the address, below its limit",
      pair: [],
      address: times(1, 2, 3, 4),
      expected: { allowed: true },
    },
    {
      name: "the address at its own limit",
      pair: [],
      address: times(1, 2, 3, 4, 5),
      expected: { allowed: false, reason: "address", retryAfterSeconds: 55 },
    },
    {
      name: "both blocked: the longer wait is given",
      pair: times(10, 20, 30),
      address: times(1, 2, 3, 4, 40, 10, 20, 30),
      expected: { allowed: false, reason: "address", retryAfterSeconds: 50 },
    },
  ])("$name", ({ pair, address, expected }) => {
    expect(combineThrottle(pair, address, now, policy)).toEqual(expected);
  });
});
