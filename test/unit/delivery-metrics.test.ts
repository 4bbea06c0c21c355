/** Delivery metrics (DORA) as specifications: each key over small, hand-checked histories. */
import { describe, expect, it } from "vitest";
import {
  changeFailureRate,
  covers,
  deploymentFrequency,
  leadTimeForChanges,
  median,
  previousPeriod,
  slices,
  timeToRestore,
  trendOf,
  type DeploymentFact,
  type EmergencyFact,
} from "../../server/delivery/dora.ts";

const H = 3600 * 1000;
const T0 = Date.parse("2026-11-01T00:00:00Z");
const at = (hours: number) => new Date(T0 + hours * H);
const WEEK = { from: at(0), to: at(7 * 24) };

function d(
  status: DeploymentFact["status"],
  finishedHour: number,
  extra: Partial<DeploymentFact> = {},
): DeploymentFact {
  return {
    environmentId: "prod",
    serviceId: "svc",
    status,
    finishedAt: at(finishedHour),
    breachAt: null,
    commitAt: null,
    ...extra,
  };
}
const emergency = (hour: number, scope: Partial<EmergencyFact> = {}): EmergencyFact => ({
  environmentId: "prod",
  serviceId: "svc",
  at: at(hour),
  ...scope,
});

describe("median", () => {
  it.each<[number[], number | null]>([
    [[], null],
    [[5], 5],
    [[9, 1, 5], 5],
    [[1, 2, 3, 10], 2.5],
  ])("%j → %j", (values, expected) => expect(median(values)).toBe(expected));
});

describe("deployment frequency: successful deployments per day", () => {
  it.each<[string, DeploymentFact[], { deployments: number; perDay: number }]>([
    ["none", [], { deployments: 0, perDay: 0 }],
    [
      "seven successes in a week is one a day",
      [1, 20, 40, 60, 80, 100, 120].map((h) => d("succeeded", h)),
      { deployments: 7, perDay: 1 },
    ],
    [
      "rollbacks, failures and aborts do not count",
      [d("succeeded", 1), d("rolled_back", 2), d("failed", 3), d("aborted", 4)],
      { deployments: 1, perDay: 1 / 7 },
    ],
    [
      "the period is [from, to): the end belongs to the next one",
      [d("succeeded", 0), d("succeeded", 7 * 24), d("succeeded", -1)],
      { deployments: 1, perDay: 1 / 7 },
    ],
  ])("%s", (_name, deployments, expected) => expect(deploymentFrequency(deployments, WEEK)).toEqual(expected));
});

describe("lead time for changes: commit to live, median", () => {
  it.each<[string, DeploymentFact[], { medianSeconds: number | null; samples: number }]>([
    ["no commit times, no lead time", [d("succeeded", 10)], { medianSeconds: null, samples: 0 }],
    [
      "one release committed 2 h before it went live",
      [d("succeeded", 10, { commitAt: at(8) })],
      { medianSeconds: 7200, samples: 1 },
    ],
    [
      "the median of 1 h, 2 h and 10 h is 2 h",
      [
        d("succeeded", 10, { commitAt: at(9) }),
        d("succeeded", 20, { commitAt: at(18) }),
        d("succeeded", 30, { commitAt: at(20) }),
      ],
      { medianSeconds: 7200, samples: 3 },
    ],
    [
      "a rolled back release never went live",
      [d("rolled_back", 10, { commitAt: at(1) })],
      { medianSeconds: null, samples: 0 },
    ],
    [
      "a commit time after going live (a clock skew) counts as zero",
      [d("succeeded", 10, { commitAt: at(11) })],
      { medianSeconds: 0, samples: 1 },
    ],
  ])("%s", (_name, deployments, expected) => expect(leadTimeForChanges(deployments, WEEK)).toEqual(expected));
});

describe("change failure rate: rolled back, or followed by an emergency within 24 h", () => {
  it.each<[string, DeploymentFact[], EmergencyFact[], { rate: number | null; changes: number; failed: number }]>([
    ["no changes, no rate", [], [], { rate: null, changes: 0, failed: 0 }],
    [
      "one rollback in four changes",
      [d("succeeded", 1), d("succeeded", 2), d("rolled_back", 3), d("succeeded", 4)],
      [],
      { rate: 0.25, changes: 4, failed: 1 },
    ],
    [
      "failures before any traffic and aborts are not changes",
      [d("succeeded", 1), d("failed", 2), d("aborted", 3)],
      [],
      { rate: 0, changes: 1, failed: 0 },
    ],
    [
      "an emergency 23 h after a success fails it",
      [d("succeeded", 10)],
      [emergency(33)],
      { rate: 1, changes: 1, failed: 1 },
    ],
    ["an emergency 25 h after does not", [d("succeeded", 10)], [emergency(35)], { rate: 0, changes: 1, failed: 0 }],
    [
      "an emergency before the deployment does not",
      [d("succeeded", 10)],
      [emergency(9)],
      { rate: 0, changes: 1, failed: 0 },
    ],
    [
      "an emergency in another environment of the service does not",
      [d("succeeded", 10)],
      [emergency(11, { environmentId: "staging" })],
      { rate: 0, changes: 1, failed: 0 },
    ],
    [
      "a service-wide emergency does",
      [d("succeeded", 10)],
      [emergency(11, { environmentId: null })],
      { rate: 1, changes: 1, failed: 1 },
    ],
    [
      "another service's emergency does not",
      [d("succeeded", 10)],
      [emergency(11, { environmentId: null, serviceId: "other" })],
      { rate: 0, changes: 1, failed: 0 },
    ],
    [
      "a panel-wide emergency does",
      [d("succeeded", 10)],
      [emergency(11, { environmentId: null, serviceId: null })],
      { rate: 1, changes: 1, failed: 1 },
    ],
    [
      "a rollback followed by an emergency fails once",
      [d("rolled_back", 10)],
      [emergency(11)],
      { rate: 1, changes: 1, failed: 1 },
    ],
  ])("%s", (_name, deployments, emergencies, expected) =>
    expect(changeFailureRate(deployments, emergencies, WEEK)).toEqual(expected),
  );
});

describe("time to restore: from a failure or an emergency to the next success, median", () => {
  it.each<
    [string, DeploymentFact[], EmergencyFact[], { medianSeconds: number | null; restored: number; unrestored: number }]
  >([
    ["no failures", [d("succeeded", 1)], [], { medianSeconds: null, restored: 0, unrestored: 0 }],
    [
      "a rollback measured from its breach to the next success",
      [d("rolled_back", 10, { breachAt: at(9.5) }), d("succeeded", 12)],
      [],
      { medianSeconds: 2.5 * 3600, restored: 1, unrestored: 0 },
    ],
    [
      "a failure before traffic, from its end",
      [d("failed", 10), d("succeeded", 11)],
      [],
      { medianSeconds: 3600, restored: 1, unrestored: 0 },
    ],
    [
      "not yet restored",
      [d("rolled_back", 10, { breachAt: at(10) })],
      [],
      { medianSeconds: null, restored: 0, unrestored: 1 },
    ],
    [
      "a success in another environment does not restore",
      [d("rolled_back", 10), d("succeeded", 11, { environmentId: "staging" })],
      [],
      { medianSeconds: null, restored: 0, unrestored: 1 },
    ],
    [
      "an emergency, to the next success it concerns",
      [d("succeeded", 5), d("succeeded", 14)],
      [emergency(10)],
      { medianSeconds: 4 * 3600, restored: 1, unrestored: 0 },
    ],
    [
      "a service-wide emergency is restored by a success in any of its environments",
      [d("succeeded", 12, { environmentId: "staging" })],
      [emergency(10, { environmentId: null })],
      { medianSeconds: 2 * 3600, restored: 1, unrestored: 0 },
    ],
    [
      "a restore after the period still counts for a failure in it",
      [d("rolled_back", 7 * 24 - 1), d("succeeded", 7 * 24 + 1)],
      [],
      { medianSeconds: 2 * 3600, restored: 1, unrestored: 0 },
    ],
    [
      "a failure before the period is not counted",
      [d("rolled_back", -2), d("succeeded", 1)],
      [],
      { medianSeconds: null, restored: 0, unrestored: 0 },
    ],
  ])("%s", (_name, deployments, emergencies, expected) =>
    expect(timeToRestore(deployments, emergencies, WEEK)).toEqual(expected),
  );
});

describe("periods and trends", () => {
  it("compares with the period of the same length before, and slices a period evenly", () => {
    expect(previousPeriod(WEEK)).toEqual({ from: at(-7 * 24), to: at(0) });
    expect(slices(WEEK, 7).map((s) => s.from)).toEqual([0, 1, 2, 3, 4, 5, 6].map((day) => at(day * 24)));
    expect(slices(WEEK, 7).at(-1)!.to).toEqual(WEEK.to);
  });

  it.each<[Parameters<typeof trendOf>[0], number | null, number | null, ReturnType<typeof trendOf>]>([
    ["deploymentsPerDay", 2, 1, "better"],
    ["deploymentsPerDay", 1, 2, "worse"],
    ["leadTimeSeconds", 3600, 7200, "better"],
    ["changeFailureRate", 0.2, 0.1, "worse"],
    ["timeToRestoreSeconds", 60, 60, "same"],
    ["leadTimeSeconds", 60, null, null],
  ])("%s from %j to… %j → %j", (metric, current, previous, expected) =>
    expect(trendOf(metric, current, previous)).toBe(expected),
  );

  it("an emergency concerns its environment, its service, or everything", () => {
    const env = { environmentId: "prod", serviceId: "svc" };
    expect(
      [
        emergency(0),
        emergency(0, { environmentId: "x" }),
        emergency(0, { environmentId: null }),
        emergency(0, { environmentId: null, serviceId: "x" }),
        emergency(0, { environmentId: null, serviceId: null }),
      ].map((e) => covers(e, env)),
    ).toEqual([true, false, true, false, true]);
  });
});
