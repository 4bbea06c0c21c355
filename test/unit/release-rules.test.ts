/** The release engine's pure rules: gates, the planner, the state machine, policy validation, alerts, figures. */
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { readAlertWindow } from "../../server/telemetry/alerts.ts";
import { computeFigures } from "../../server/releases/figures.ts";
import { judge, type GateVerdict } from "../../server/releases/judge/judge.ts";
import {
  afterSmoke,
  decide,
  decideChore,
  effectiveSteps,
  mayFinish,
  type Action,
  type DeploymentPatch,
  type DeploymentSnapshot,
} from "../../server/releases/plan.ts";
import { DEFAULT_GATES, defaultPolicy, policySchema, readPolicy } from "../../server/releases/policy.ts";
import {
  ACTIVE,
  availableCommands,
  canTransition,
  COMMANDS,
  DEPLOYMENT_STATUSES,
  TERMINAL,
  TRANSITIONS,
} from "../../server/releases/state-machine.ts";
import type { Observed, SlotMetrics, SlotState } from "../../server/targets/driver.ts";
import { describeZodError } from "../../server/trpc/init.ts";

const m = (requests: number, errors: number, p95: number | null): SlotMetrics => ({
  requests,
  errors,
  errorRate: requests ? errors / requests : null,
  p50: p95,
  p95,
  p99: p95,
});
const verdicts = (green: SlotMetrics, live: SlotMetrics) =>
  judge(DEFAULT_GATES, {
    green,
    live,
    baseline: null,
    complete: true,
    bakeOver: true,
    slots: { new: "green", live: "blue" },
  });

const slot = (partial: Partial<SlotState> & Pick<SlotState, "slot">): SlotState => ({
  releaseId: null,
  desired: 1,
  running: 1,
  healthy: 1,
  pending: 0,
  rollout: "steady",
  detail: null,
  ...partial,
});
const world = (
  weights: Observed["weights"],
  green: Partial<SlotState> = {},
  blue: Partial<SlotState> = {},
): Observed => ({
  weights,
  slots: {
    blue: slot({ slot: "blue", releaseId: "r-old", ...blue }),
    green: slot({ slot: "green", releaseId: "r-new", ...green }),
  },
});
const T0 = new Date("2026-11-24T12:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const deployment = (partial: Partial<DeploymentSnapshot> = {}): DeploymentSnapshot => ({
  id: "d1",
  status: "shifting",
  releaseId: "r-new",
  releaseVersion: "2.0.0",
  fromReleaseId: "r-old",
  targetSlot: "green",
  fromSlot: "blue",
  policy: { ...defaultPolicy(false), bakeSeconds: 60 },
  stepIndex: 0,
  stepReachedAt: null,
  phaseStartedAt: T0,
  skipBake: false,
  smokeAttempt: 1,
  baseline: null,
  gateFailures: null,
  startedAt: new Date("2026-11-24T11:59:00Z"),
  trafficStartedAt: null,
  rollbackReasonKind: null,
  breachAt: null,
  rollbackCompletedAt: null,
  rollbackHooksRanAt: null,
  outcome: null,
  hasRollbackHooks: false,
  ...partial,
});
const passing = verdicts(m(100, 0, 100), m(900, 0, 100));
const waiting = verdicts(m(3, 0, 100), m(900, 0, 100));
const failing = verdicts(m(100, 30, 100), m(900, 0, 100));
const summary = (a: Action) =>
  a.kind === "transition"
    ? `${a.kind}:${a.to}`
    : a.kind === "setWeights"
      ? `setWeights:${a.weights.blue}/${a.weights.green}`
      : a.kind;

describe("decide: one action per pass", () => {
  it.each<[string, Partial<DeploymentSnapshot>, Observed, GateVerdict[] | null, Date, string]>([
    [
      "preparing starts deploying",
      { status: "preparing" },
      world({ blue: 100, green: 0 }),
      null,
      T0,
      "transition:deploying_green",
    ],
    [
      "green not running the release: ensure it",
      { status: "deploying_green" },
      world({ blue: 100, green: 0 }, { releaseId: "r-older" }),
      null,
      T0,
      "ensureRelease",
    ],
    [
      "green starting: wait",
      { status: "deploying_green" },
      world({ blue: 100, green: 0 }, { rollout: "in_progress", healthy: 0 }),
      null,
      at(10),
      "wait",
    ],
    [
      "green never ready in time: fail (roll back with outcome failed)",
      { status: "deploying_green" },
      world({ blue: 100, green: 0 }, { rollout: "in_progress", healthy: 0 }),
      null,
      at(601),
      "transition:rolling_back",
    ],
    [
      "green crashed: fail",
      { status: "deploying_green" },
      world({ blue: 100, green: 0 }, { rollout: "failed", detail: "exit 1" }),
      null,
      T0,
      "transition:rolling_back",
    ],
    [
      "green steady and healthy: smoke tests",
      { status: "deploying_green" },
      world({ blue: 100, green: 0 }),
      null,
      T0,
      "transition:smoke_testing",
    ],
    [
      "smoke testing runs the smoke tests",
      { status: "smoke_testing" },
      world({ blue: 100, green: 0 }),
      null,
      T0,
      "runSmoke",
    ],
    ["step weights not set: set them", {}, world({ blue: 100, green: 0 }), null, T0, "setWeights:90/10"],
    [
      "step weights confirmed: record the step once",
      {},
      world({ blue: 90, green: 10 }),
      null,
      T0,
      "transition:shifting",
    ],
    ["baking with passing gates: wait", { stepReachedAt: T0 }, world({ blue: 90, green: 10 }), passing, at(30), "wait"],
    [
      "a gate fails mid-bake: roll back at once",
      { stepReachedAt: T0 },
      world({ blue: 90, green: 10 }),
      failing,
      at(5),
      "transition:rolling_back",
    ],
    [
      "bake over, gates pass: next step",
      { stepReachedAt: T0 },
      world({ blue: 90, green: 10 }),
      passing,
      at(60),
      "transition:shifting",
    ],
    [
      "bake over, gates waiting for traffic: wait",
      { stepReachedAt: T0 },
      world({ blue: 90, green: 10 }),
      waiting,
      at(120),
      "wait",
    ],
    [
      "promote now skips the bake and the wait for traffic",
      { stepReachedAt: T0, skipBake: true },
      world({ blue: 90, green: 10 }),
      waiting,
      at(1),
      "transition:shifting",
    ],
    [
      "promote now does not skip a failing gate",
      { stepReachedAt: T0, skipBake: true },
      world({ blue: 90, green: 10 }),
      failing,
      at(1),
      "transition:rolling_back",
    ],
    [
      "last step passed: smoke tests at 100%",
      { stepIndex: 2, stepReachedAt: T0 },
      world({ blue: 0, green: 100 }),
      passing,
      at(60),
      "transition:smoke_testing",
    ],
    [
      "validation over: succeeded",
      { status: "validating", phaseStartedAt: T0 },
      world({ blue: 0, green: 100 }),
      passing,
      at(16),
      "transition:succeeded",
    ],
    [
      "validation drifted weights are repaired",
      { status: "validating" },
      world({ blue: 10, green: 90 }),
      passing,
      at(1),
      "setWeights:0/100",
    ],
    [
      "rolling back: 100% to the live slot first",
      { status: "rolling_back", outcome: "rolled_back", breachAt: T0 },
      world({ blue: 50, green: 50 }),
      null,
      at(1),
      "setWeights:100/0",
    ],
    [
      "rolling back: restored, recorded once",
      { status: "rolling_back", outcome: "rolled_back", breachAt: T0 },
      world({ blue: 100, green: 0 }),
      null,
      at(1),
      "transition:rolling_back",
    ],
    [
      "rolling back: hooks after traffic is restored",
      { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1), hasRollbackHooks: true },
      world({ blue: 100, green: 0 }),
      null,
      at(2),
      "runRollbackHooks",
    ],
    [
      "rolling back: then green is scaled down",
      { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1) },
      world({ blue: 100, green: 0 }),
      null,
      at(2),
      "scaleDown",
    ],
    [
      "rolling back: then finished",
      { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1) },
      world({ blue: 100, green: 0 }, { rollout: "stopped", releaseId: null, desired: 0, running: 0 }),
      null,
      at(3),
      "transition:rolled_back",
    ],
    [
      "rolling back: tasks still draining (desired 0) count as done",
      { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1) },
      world({ blue: 100, green: 0 }, { rollout: "in_progress", desired: 0, running: 2 }),
      null,
      at(3),
      "transition:rolled_back",
    ],
    [
      "aborting ends as aborted, without hooks",
      { status: "rolling_back", outcome: "aborted", rollbackCompletedAt: at(1), hasRollbackHooks: true },
      world({ blue: 100, green: 0 }, { rollout: "stopped", releaseId: null, desired: 0, running: 0 }),
      null,
      at(3),
      "transition:aborted",
    ],
    ["paused does nothing", { status: "paused" }, world({ blue: 90, green: 10 }), null, T0, "wait"],
  ])("%s", (_name, partial, observed, gateResults, now, expected) => {
    expect(summary(decide(deployment(partial), { observed, gates: gateResults, metrics: null, now }))).toBe(expected);
  });

  it.each([
    [60, 0.3, "1 min left"],
    [60, 15, "45 s left"],
    [60, 50.2, "9.8 s left"],
    [600, 59.6, "9 min left"],
    [600, 62.3, "8 min 58 s left"],
  ])("a %i s bake, %s s in, says how long is left in words: %s", (bakeSeconds, since, left) => {
    const action = decide(deployment({ stepReachedAt: T0, policy: { ...deployment().policy, bakeSeconds } }), {
      observed: world({ blue: 90, green: 10 }),
      gates: passing,
      metrics: null,
      now: at(since),
    });
    expect(action).toMatchObject({ kind: "wait" });
    // Rounded as the pages round durations: "589.7 s left" read like a raw figure.
    expect((action as { reason: string }).reason).toMatch(new RegExp(`: ${left}$`));
  });

  it("holds a new step (but never a rollback) while a maintenance window is closing", () => {
    const hold = "Holding: window closing";
    expect(
      decide(deployment({ stepIndex: 1 }), {
        observed: world({ blue: 90, green: 10 }),
        gates: null,
        metrics: null,
        now: T0,
        stepHold: hold,
      }),
    ).toMatchObject({ kind: "wait", reason: hold });
    expect(
      summary(
        decide(deployment({ status: "rolling_back", outcome: "rolled_back", breachAt: T0 }), {
          observed: world({ blue: 50, green: 50 }),
          gates: null,
          metrics: null,
          now: T0,
          stepHold: hold,
        }),
      ),
    ).toBe("setWeights:100/0");
  });

  it("records which gate failed, its value and threshold, and when", () => {
    const action = decide(deployment({ stepReachedAt: T0 }), {
      observed: world({ blue: 90, green: 10 }),
      gates: failing,
      metrics: null,
      now: at(5),
    });
    expect(action).toMatchObject({
      kind: "transition",
      to: "rolling_back",
      patch: {
        outcome: "rolled_back",
        breachAt: at(5),
        rollbackReason: { kind: "gate", gate: "error_rate", weight: 10 },
      },
    });
    expect(
      (action as unknown as { patch: { rollbackReason: { detail: string } } }).patch.rollbackReason.detail,
    ).toMatch(
      /^green \(new\) fails 30 % of requests \(30 of 100\) against 0 % on blue \(live\).*sure it is worse by 0\.5 pp or more$/,
    );
  });

  it("decides from the smoke checks recorded for the attempt: they run once, and the next pass moves on", () => {
    const smoking = deployment({ status: "smoke_testing" });
    const w = world({ blue: 100, green: 0 });
    expect(summary(decide(smoking, { observed: w, gates: null, metrics: null, now: T0, smoke: null }))).toBe(
      "runSmoke",
    );
    expect(summary(decide(smoking, { observed: w, gates: null, metrics: null, now: T0, smoke: { failed: [] } }))).toBe(
      "transition:shifting",
    );
    expect(
      decide(smoking, { observed: w, gates: null, metrics: null, now: T0, smoke: { failed: ["db (503)"] } }),
    ).toMatchObject({ to: "rolling_back", patch: { outcome: "failed" } });
  });

  it("returns everything a success changes: the environment's live slot, the old slot's scale-down time and the figures", () => {
    const validating = deployment({ status: "validating", phaseStartedAt: T0 });
    const action = decide(validating, {
      observed: world({ blue: 0, green: 100 }),
      gates: passing,
      metrics: null,
      now: at(16),
      closing: { secondsWithoutSuccess: 2, exposure: null },
    });
    expect(action).toMatchObject({
      kind: "transition",
      to: "succeeded",
      environment: {
        liveSlot: "green",
        liveReleaseId: "r-new",
        scaleDownSlot: "blue",
        scaleDownAt: new Date(at(16).getTime() + validating.policy.scaleDownDelaySeconds * 1000),
      },
      patch: { figures: { durationSeconds: 76, secondsWithoutSuccess: 2 } },
    });
    expect(mayFinish(validating, at(16))).toBe(true);
    expect(mayFinish(validating, at(1))).toBe(false);
  });

  it("ends a rollback with its figures: onset to 100 % live and the blast radius", () => {
    const restored = deployment({
      status: "rolling_back",
      outcome: "rolled_back",
      breachAt: at(10),
      rollbackCompletedAt: at(10.4),
      rollbackReasonKind: "gate",
    });
    const action = decide(restored, {
      observed: world({ blue: 100, green: 0 }, { rollout: "stopped", releaseId: null, desired: 0, running: 0 }),
      gates: null,
      metrics: null,
      now: at(11),
      closing: { secondsWithoutSuccess: 0, exposure: { errors: 9, firstErrorAt: at(9.9) } },
    });
    expect(action).toMatchObject({
      to: "rolled_back",
      patch: { figures: { breachToRollbackSeconds: 0.4, onsetToRollbackSeconds: 0.5, blastRadiusRequests: 9 } },
    });
    expect(action).not.toHaveProperty("environment");
  });

  it.each<
    [string, { scaleDownSlot: "blue" | null; scaleDownAt: Date | null; activeDeployment: boolean }, Date, string | null]
  >([
    ["nothing to scale down", { scaleDownSlot: null, scaleDownAt: null, activeDeployment: false }, at(0), null],
    ["not yet time", { scaleDownSlot: "blue", scaleDownAt: at(60), activeDeployment: false }, at(59), null],
    [
      "time: scale the former live slot down",
      { scaleDownSlot: "blue", scaleDownAt: at(60), activeDeployment: false },
      at(60),
      "blue",
    ],
    [
      "a deployment is active there: it may be about to use the slot",
      { scaleDownSlot: "blue", scaleDownAt: at(60), activeDeployment: true },
      at(61),
      null,
    ],
  ])("environment chore: %s", (_name, env, now, slot) => {
    expect(decideChore(env, now)?.slot ?? null).toBe(slot);
  });

  describe("failure limits (Argo Rollouts' failureLimit / consecutive errors)", () => {
    const limited = (
      failureLimit: number,
      consecutiveFailureLimit: number | null,
      gateFailures: DeploymentSnapshot["gateFailures"] = null,
    ) =>
      deployment({
        stepReachedAt: T0,
        gateFailures,
        policy: {
          ...defaultPolicy(false),
          bakeSeconds: 60,
          gates: { ...DEFAULT_GATES, failureLimit, consecutiveFailureLimit },
        },
      });
    const w = world({ blue: 90, green: 10 });
    it.each<[string, DeploymentSnapshot, GateVerdict[], Date, string, Record<string, unknown>?]>([
      ["the default (1) rolls back at the first failure", limited(1, null), failing, at(5), "transition:rolling_back"],
      [
        "a first failure under a limit of 3 is counted",
        limited(3, null),
        failing,
        at(5),
        "transition:shifting",
        { gateFailures: { stepIndex: 0, total: 1, consecutive: 1, lastAt: at(5).getTime() } },
      ],
      [
        "at most one failure a second counts",
        limited(3, null, { stepIndex: 0, total: 1, consecutive: 1, lastAt: at(5).getTime() }),
        failing,
        at(5.5),
        "wait",
      ],
      [
        "the third failure reaches the limit",
        limited(3, null, { stepIndex: 0, total: 2, consecutive: 1, lastAt: at(5).getTime() }),
        failing,
        at(7),
        "transition:rolling_back",
      ],
      [
        "a run of failures reaches the consecutive limit first",
        limited(10, 2, { stepIndex: 0, total: 1, consecutive: 1, lastAt: at(5).getTime() }),
        failing,
        at(6),
        "transition:rolling_back",
      ],
      [
        "a passing measurement ends the run, the total stays",
        limited(10, 2, { stepIndex: 0, total: 1, consecutive: 1, lastAt: at(5).getTime() }),
        passing,
        at(6),
        "transition:shifting",
        { gateFailures: { stepIndex: 0, total: 1, consecutive: 0, lastAt: at(5).getTime() } },
      ],
      [
        "a new step starts counting afresh",
        { ...limited(3, null, { stepIndex: 0, total: 2, consecutive: 2, lastAt: at(5).getTime() }), stepIndex: 1 },
        failing,
        at(7),
        "transition:shifting",
        { gateFailures: { stepIndex: 1, total: 1, consecutive: 1, lastAt: at(7).getTime() } },
      ],
    ])("%s", (_name, d, gateResults, now, expected, patch) => {
      const w2 = d.stepIndex === 1 ? world({ blue: 50, green: 50 }) : w;
      const action = decide(d, { observed: w2, gates: gateResults, metrics: null, now });
      expect(summary(action)).toBe(expected);
      if (patch) expect(action).toMatchObject({ patch });
    });
  });

  it("goes straight to 100% for the first release of an environment", () => {
    expect(effectiveSteps({ fromReleaseId: null, policy: defaultPolicy(true) })).toEqual([100]);
    expect(
      summary(
        decide(deployment({ fromReleaseId: null }), {
          observed: world({ blue: 100, green: 0 }),
          gates: null,
          metrics: null,
          now: T0,
        }),
      ),
    ).toBe("setWeights:0/100");
  });

  it.each<[string, "pre_traffic" | "full_traffic", string[], string]>([
    ["smoke tests pass before traffic: start shifting", "pre_traffic", [], "transition:shifting"],
    ["smoke tests fail before traffic: fail without traffic", "pre_traffic", ["db"], "transition:rolling_back"],
    ["smoke tests pass at 100%: validate", "full_traffic", [], "transition:validating"],
    ["smoke tests fail at 100%: roll back", "full_traffic", ["db"], "transition:rolling_back"],
  ])("%s", (_name, round, failed, expected) => {
    const action = afterSmoke(deployment({ status: "smoke_testing" }), round, failed, T0);
    expect(summary(action)).toBe(expected);
    if (round === "pre_traffic" && failed.length) expect(action).toMatchObject({ patch: { outcome: "failed" } });
    if (round === "full_traffic" && failed.length)
      expect(action).toMatchObject({ patch: { outcome: "rolled_back", breachAt: T0 } });
  });
});

describe("how often a waiting step looks again", () => {
  const baking = deployment({ status: "shifting", stepIndex: 1, stepReachedAt: at(1) });
  const window = (greenRequests: number) => ({
    from: at(1),
    to: at(10),
    slots: { green: m(greenRequests, 0, greenRequests ? 20 : null), blue: m(100, 0, 20) },
    complete: true,
  });
  it.each<[string, number | null, number]>([
    ["while the new release serves requests: often, to catch a failure within a fraction of a second", 4, 200],
    ["while it has served none in the window: once a second, there is nothing to catch yet", 0, 1000],
    ["before any window is read: often", null, 200],
  ])("%s", (_what, requests, every) => {
    const action = decide(baking, {
      observed: world({ blue: 50, green: 50 }),
      gates: null,
      metrics: requests === null ? null : window(requests),
      now: at(10),
    });
    expect(action).toMatchObject({ kind: "wait", retryInMs: every });
  });
});

describe("the traffic guard in the planner", () => {
  const cutOff = {
    key: "d1",
    slot: "green" as const,
    at: at(3),
    requests: 14,
    errors: 9,
    ceilingPercent: 5,
    confidence: 0.99999,
  };
  const stepped = { status: "shifting" as const, stepIndex: 1, stepReachedAt: at(1) };

  it("arms the guard with the step's weights while the new slot takes part of the traffic, and never at 100 %", () => {
    const first = decide(deployment({ stepIndex: 0 }), {
      observed: world({ blue: 100, green: 0 }),
      gates: null,
      metrics: null,
      now: T0,
    });
    expect(first).toMatchObject({
      kind: "setWeights",
      guard: { key: "d1", slot: "green", ceilingPercent: 5, confidence: 0.99 },
    });
    const last = decide(deployment({ stepIndex: 2 }), {
      observed: world({ blue: 50, green: 50 }),
      gates: null,
      metrics: null,
      now: T0,
    });
    expect(last).toMatchObject({ kind: "setWeights", weights: { blue: 0, green: 100 } });
    expect((last as { guard?: unknown }).guard).toBeUndefined();
  });

  it.each<[string, Partial<DeploymentSnapshot>]>([
    ["while a step bakes", stepped],
    ["while paused", { status: "paused", stepIndex: 1, stepReachedAt: at(1) }],
  ])(
    "records the rollback the guard did %s: the ceiling's sentence, and the breach when the guard acted",
    (_name, partial) => {
      // The guard took the traffic: the data plane routes 100/0 while the step wants 50/50.
      const action = decide(deployment(partial), {
        observed: { ...world({ blue: 100, green: 0 }), cutOff },
        gates: null,
        metrics: null,
        now: at(9),
      });
      expect(action).toMatchObject({
        kind: "transition",
        to: "rolling_back",
        patch: { breachAt: at(3), rollbackReason: { gate: "error_rate_ceiling", weight: 50 } },
      });
      expect((action as { patch: { rollbackReason: { detail: string } } }).patch.rollbackReason.detail).toBe(
        "green (new) fails 64 % of requests (9 of 14); over 99.99 % sure that is above the 5 % ceiling, so the traffic guard moved all traffic back to blue (live) at 12:00:03.000 UTC",
      );
    },
  );

  it.each<[string, Partial<DeploymentSnapshot>, Date | undefined]>([
    // The guard tripped before the panel recorded the first step: the release's traffic began with the shifting phase.
    ["before the first step is recorded", { stepIndex: 0, stepReachedAt: null, trafficStartedAt: null }, T0],
    ["after it", { ...stepped, trafficStartedAt: at(1) }, undefined],
  ])("dates the release's first traffic %s, so its onset and blast radius can be read", (_name, partial, expected) => {
    const action = decide(deployment(partial), {
      observed: { ...world({ blue: 100, green: 0 }), cutOff },
      gates: null,
      metrics: null,
      now: at(9),
    });
    expect(action).toMatchObject({ kind: "transition", to: "rolling_back" });
    expect((action as { patch: DeploymentPatch }).patch.trafficStartedAt).toEqual(expected);
  });

  it("ignores another deployment's cut-off", () => {
    const action = decide(deployment(stepped), {
      observed: { ...world({ blue: 100, green: 0 }), cutOff: { ...cutOff, key: "d0" } },
      gates: null,
      metrics: null,
      now: at(9),
    });
    expect(summary(action)).toBe("setWeights:50/50");
  });

  it("dates the traffic's return to live from the guard's cut-off, not from when the panel saw it", () => {
    const action = decide(
      deployment({ status: "rolling_back", outcome: "rolled_back", breachAt: at(3), stepIndex: 1 }),
      {
        observed: { ...world({ blue: 100, green: 0 }), cutOff },
        gates: null,
        metrics: null,
        now: at(9),
      },
    );
    expect(action).toMatchObject({ kind: "transition", to: "rolling_back", patch: { rollbackCompletedAt: at(3) } });
  });
});

describe("the state machine", () => {
  it("has an entry for every status, and terminal statuses lead nowhere", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...DEPLOYMENT_STATUSES].sort());
    for (const status of TERMINAL) expect(TRANSITIONS[status]).toEqual([]);
  });

  it("lets every active status reach rolling_back, and rolling_back end in a terminal status", () => {
    for (const status of ACTIVE.filter((s) => s !== "rolling_back"))
      expect(canTransition(status, "rolling_back"), status).toBe(true);
    expect(TRANSITIONS.rolling_back.every((s) => TERMINAL.includes(s))).toBe(true);
  });

  it.each<[string, string, boolean]>([
    ["preparing", "shifting", false],
    ["shifting", "succeeded", false],
    ["validating", "succeeded", true],
    ["succeeded", "rolling_back", false],
    ["paused", "shifting", true],
  ])("%s → %s is %s", (from, to, allowed) => {
    expect(canTransition(from as never, to as never)).toBe(allowed);
  });

  it("only gives commands in statuses the transitions allow", () => {
    for (const status of COMMANDS.rollback) expect(canTransition(status, "rolling_back")).toBe(true);
    for (const status of COMMANDS.pause) expect(canTransition(status, "paused")).toBe(true);
  });

  it.each([
    ["preparing", 0, null, null, ["pause", "rollback", "abort"]],
    ["shifting", 0, T0, null, ["pause", "promote", "rollback"]],
    ["paused", 0, null, "smoke_testing", ["resume", "rollback", "abort"]],
    ["paused", 1, T0, "shifting", ["resume", "rollback"]],
    ["rolling_back", 1, T0, null, []],
    ["succeeded", 2, T0, null, []],
  ] as const)(
    "offers a deployment that is %s (step %i) the commands the page shows",
    (status, stepIndex, stepReachedAt, pausedFrom, expected) => {
      expect(availableCommands({ status, stepIndex, stepReachedAt, pausedFrom })).toEqual(expected);
    },
  );
});

describe("policy validation names the field", () => {
  const base = defaultPolicy(true);
  it.each<[string, unknown, string, string]>([
    ["steps", { ...base, steps: [50, 10, 100] }, "steps", "Steps: must rise from one step to the next"],
    ["steps", { ...base, steps: [] }, "steps", "Steps: must not be empty"],
    ["steps", { ...base, steps: [10, 101] }, "steps.1", "Steps (item 2): must not exceed 100"],
    ["steps", { ...base, steps: [0, 100] }, "steps.0", "Steps (item 1): must be between 1 and 100"],
    [
      "p95 ceiling",
      { ...base, gates: { ...base.gates, latency: { ...base.gates.latency, maxP95Ms: 0 } } },
      "gates.latency.maxP95Ms",
      "Maximum p95 in ms (gates, latency): must be between 1 and 600000 ms",
    ],
    [
      "confidence of 100 %",
      { ...base, gates: { ...base.gates, confidencePercent: 100 } },
      "gates.confidencePercent",
      "Confidence in percent (gates): must be less than 100 %",
    ],
    [
      "confidence over 100 %",
      { ...base, gates: { ...base.gates, confidencePercent: 250 } },
      "gates.confidencePercent",
      "Confidence in percent (gates): must be less than 100 %",
    ],
    [
      "a coin toss is no confidence",
      { ...base, gates: { ...base.gates, confidencePercent: 50 } },
      "gates.confidencePercent",
      "Confidence in percent (gates): must be more than 50 %",
    ],
    [
      "negative error margin",
      { ...base, gates: { ...base.gates, errorRate: { ...base.gates.errorRate, marginPp: -0.1 } } },
      "gates.errorRate.marginPp",
      "Margin in percentage points (gates, error rate): must not be negative",
    ],
    [
      "negative latency margin",
      { ...base, gates: { ...base.gates, latency: { ...base.gates.latency, marginMs: -5 } } },
      "gates.latency.marginMs",
      "Margin in ms (gates, latency): must not be negative",
    ],
    [
      "failure limit of 0",
      { ...base, gates: { ...base.gates, failureLimit: 0 } },
      "gates.failureLimit",
      "Failure limit (gates): must be at least 1 (1 rolls back at the first failure)",
    ],
    [
      "consecutive failure limit of 0",
      { ...base, gates: { ...base.gates, consecutiveFailureLimit: 0 } },
      "gates.consecutiveFailureLimit",
      "Consecutive failure limit (gates): must be at least 1",
    ],
    [
      "an empty number (NaN)",
      { ...base, gates: { ...base.gates, minRequests: Number.NaN } },
      "gates.minRequests",
      "Minimum requests (gates): is empty or not a number; enter a number",
    ],
    [
      "smoke",
      { ...base, smokeTests: [{ kind: "http", name: "x", path: "no-slash" }] },
      "smokeTests.0.path",
      "Path (smoke tests, item 1): must be a path starting with /",
    ],
    [
      "smoke kind",
      { ...base, smokeTests: [{ kind: "ftp", name: "x", path: "/" }] },
      "smokeTests.0.kind",
      "Kind (smoke tests, item 1): kind must be http or websocket",
    ],
  ])("%s", (_name, policy, path, message) => {
    const result = policySchema.safeParse(policy);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path.join(".")).toBe(path);
    expect(describeZodError(new ZodError([issue]))).toBe(message);
  });

  it("reads a policy stored before the judge with the same intent: its margin and ceilings, judged at 99 %", () => {
    const stored = {
      ...base,
      gates: { maxErrorRateIncreasePp: 0.1, maxErrorRatePercent: 0.5, maxP95Ms: 800, minRequests: 5 },
    };
    expect(readPolicy(stored, true).gates).toEqual({
      confidencePercent: 99,
      minRequests: 5,
      errorRate: { marginPp: 0.1, maxPercent: 0.5 },
      latency: { marginPercent: 20, marginMs: 25, maxP95Ms: 800 },
      failureLimit: 1,
      consecutiveFailureLimit: null,
    });
  });

  it("accepts the defaults", () => {
    expect(policySchema.parse(defaultPolicy(true)).bakeSeconds).toBe(60);
    expect(policySchema.parse(defaultPolicy(false)).bakeSeconds).toBe(10);
  });
});

describe("alerts", () => {
  const second = (requests: number, errors: number, p95: number | null, at = 0) => ({ at, requests, errors, p95 });
  it.each<[string, ReturnType<typeof second>[], Record<string, boolean>]>([
    ["too little traffic says nothing", [second(10, 10, 100)], {}],
    ["healthy", [second(50, 0, 100), second(50, 1, 120)], { error_rate: false, latency_p95: false }],
    ["error burst", [second(50, 5, 100), second(50, 5, 100)], { error_rate: true, latency_p95: false }],
    ["slow", [second(50, 0, 2000), second(50, 0, 1800)], { error_rate: false, latency_p95: true }],
  ])("%s", (_name, seconds, expected) => {
    expect(
      Object.fromEntries(
        readAlertWindow(seconds, { errorRatePercent: 5, p95Ms: 1500 }).map((r) => [r.metric, r.breached]),
      ),
    ).toEqual(expected);
  });
});

describe("figures", () => {
  it("measure onset to rollback and the blast radius; a manual rollback has no breach", () => {
    const base = {
      startedAt: T0,
      finishedAt: at(600),
      breachAt: at(300),
      rollbackCompletedAt: at(300.4),
      greenErrorRatePercent: null,
      baselineErrorRatePercent: null,
      secondsWithoutSuccess: 0,
    };
    expect(computeFigures({ ...base, onsetAt: at(299.9), failedRequests: 7 })).toMatchObject({
      breachToRollbackSeconds: 0.4,
      onsetToRollbackSeconds: 0.5,
      blastRadiusRequests: 7,
      commandToRollbackSeconds: null,
    });
    expect(computeFigures({ ...base, manual: true })).toMatchObject({
      breachToRollbackSeconds: null,
      commandToRollbackSeconds: 0.4,
      onsetToRollbackSeconds: null,
      blastRadiusRequests: null,
    });
  });

  it("measure duration, breach to rollback and the error-rate change", () => {
    expect(
      computeFigures({
        startedAt: T0,
        finishedAt: at(600),
        breachAt: at(300),
        rollbackCompletedAt: at(301.25),
        greenErrorRatePercent: 0.35,
        baselineErrorRatePercent: 0.3,
        secondsWithoutSuccess: 0,
      }),
    ).toMatchObject({
      durationSeconds: 600,
      breachToRollbackSeconds: 1.25,
      errorRateChangePp: 0.05,
      secondsWithoutSuccess: 0,
      targets: { durationSeconds: 1800, breachToRollbackSeconds: 300 },
    });
  });
});
