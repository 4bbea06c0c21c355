/** The release engine's pure rules: gates, the planner, the state machine, policy validation, alerts, figures. */
import { describe, expect, it } from "vitest";
import { readAlertWindow } from "../../server/releases/alerts.ts";
import { computeFigures } from "../../server/releases/figures.ts";
import { evaluateGates, type GateResult } from "../../server/releases/gates.ts";
import { afterSmoke, decide, effectiveSteps, type Action, type DeploymentSnapshot } from "../../server/releases/plan.ts";
import { defaultPolicy, policySchema } from "../../server/releases/policy.ts";
import { ACTIVE, canTransition, COMMANDS, DEPLOYMENT_STATUSES, TERMINAL, TRANSITIONS } from "../../server/releases/state-machine.ts";
import { emptySlotMetrics, type Observed, type SlotMetrics, type SlotState } from "../../server/targets/driver.ts";

const gates = { maxErrorRateIncreasePp: 0.1, maxErrorRatePercent: 0.5, maxP95Ms: 500, minRequests: 20 };
const m = (requests: number, errors: number, p95: number | null): SlotMetrics => ({ requests, errors, errorRate: requests ? errors / requests : null, p50: p95, p95, p99: p95 });
const outcomes = (results: GateResult[]) => Object.fromEntries(results.map((r) => [r.gate, r.outcome]));

describe("evaluateGates", () => {
  it.each<[string, SlotMetrics, SlotMetrics, boolean, Record<string, string>]>([
    ["healthy green, healthy live", m(100, 0, 120), m(900, 0, 110), true, { min_requests: "pass", error_rate_absolute: "pass", error_rate_vs_live: "pass", latency_p95: "pass" }],
    ["too few requests: waiting, never pass", m(19, 0, 100), m(900, 0, 100), true, { min_requests: "waiting", error_rate_absolute: "waiting", error_rate_vs_live: "waiting", latency_p95: "waiting" }],
    ["too few requests with errors: waiting, never fail", m(10, 10, 100), m(900, 0, 100), true, { min_requests: "waiting", error_rate_absolute: "waiting", error_rate_vs_live: "waiting", latency_p95: "waiting" }],
    ["metrics still arriving: waiting", m(100, 0, 100), m(900, 0, 100), false, { min_requests: "waiting", error_rate_absolute: "waiting", error_rate_vs_live: "waiting", latency_p95: "waiting" }],
    ["30% errors fails both error gates", m(100, 30, 100), m(900, 0, 100), true, { min_requests: "pass", error_rate_absolute: "fail", error_rate_vs_live: "fail", latency_p95: "pass" }],
    ["slow green fails latency only", m(100, 0, 501), m(900, 0, 100), true, { min_requests: "pass", error_rate_absolute: "pass", error_rate_vs_live: "pass", latency_p95: "fail" }],
    ["exactly at the thresholds passes", m(1000, 5, 500), m(1000, 4, 100), true, { min_requests: "pass", error_rate_absolute: "pass", error_rate_vs_live: "pass", latency_p95: "pass" }],
    ["0.4% on green vs 0.2% on live: within 0.5% but 0.2 pp above live", m(1000, 4, 100), m(1000, 2, 100), true, { min_requests: "pass", error_rate_absolute: "pass", error_rate_vs_live: "fail", latency_p95: "pass" }],
  ])("%s", (_name, green, live, complete, expected) => {
    expect(outcomes(evaluateGates(gates, { green, live, baseline: null, complete }))).toEqual(expected);
  });

  it("compares with the baseline when the live slot has too little traffic (at 100%)", () => {
    const results = evaluateGates(gates, { green: m(1000, 3, 100), live: emptySlotMetrics(), baseline: { errorRatePercent: 0.25, p95Ms: 100 }, complete: true });
    expect(results.find((r) => r.gate === "error_rate_vs_live")).toMatchObject({ outcome: "pass", observed: 0.05 });
  });

  it("records the observed value and the threshold of a failure", () => {
    const failure = evaluateGates(gates, { green: m(200, 60, 100), live: m(800, 0, 100), baseline: null, complete: true }).find((r) => r.outcome === "fail")!;
    expect(failure).toMatchObject({ gate: "error_rate_absolute", observed: 30, threshold: 0.5 });
  });
});

const slot = (partial: Partial<SlotState> & Pick<SlotState, "slot">): SlotState => ({ releaseId: null, desired: 1, running: 1, healthy: 1, pending: 0, rollout: "steady", detail: null, ...partial });
const world = (weights: Observed["weights"], green: Partial<SlotState> = {}, blue: Partial<SlotState> = {}): Observed => ({
  weights,
  slots: { blue: slot({ slot: "blue", releaseId: "r-old", ...blue }), green: slot({ slot: "green", releaseId: "r-new", ...green }) },
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
  breachAt: null,
  rollbackCompletedAt: null,
  rollbackHooksRanAt: null,
  outcome: null,
  hasRollbackHooks: false,
  ...partial,
});
const passing = evaluateGates(gates, { green: m(100, 0, 100), live: m(900, 0, 100), baseline: null, complete: true });
const waiting = evaluateGates(gates, { green: m(3, 0, 100), live: m(900, 0, 100), baseline: null, complete: true });
const failing = evaluateGates(gates, { green: m(100, 30, 100), live: m(900, 0, 100), baseline: null, complete: true });
const summary = (a: Action) => (a.kind === "transition" ? `${a.kind}:${a.to}` : a.kind === "setWeights" ? `setWeights:${a.weights.blue}/${a.weights.green}` : a.kind);

describe("decide: one action per pass", () => {
  it.each<[string, Partial<DeploymentSnapshot>, Observed, GateResult[] | null, Date, string]>([
    ["preparing starts deploying", { status: "preparing" }, world({ blue: 100, green: 0 }), null, T0, "transition:deploying_green"],
    ["green not running the release: ensure it", { status: "deploying_green" }, world({ blue: 100, green: 0 }, { releaseId: "r-older" }), null, T0, "ensureRelease"],
    ["green starting: wait", { status: "deploying_green" }, world({ blue: 100, green: 0 }, { rollout: "in_progress", healthy: 0 }), null, at(10), "wait"],
    ["green never ready in time: fail (roll back with outcome failed)", { status: "deploying_green" }, world({ blue: 100, green: 0 }, { rollout: "in_progress", healthy: 0 }), null, at(601), "transition:rolling_back"],
    ["green crashed: fail", { status: "deploying_green" }, world({ blue: 100, green: 0 }, { rollout: "failed", detail: "exit 1" }), null, T0, "transition:rolling_back"],
    ["green steady and healthy: smoke tests", { status: "deploying_green" }, world({ blue: 100, green: 0 }), null, T0, "transition:smoke_testing"],
    ["smoke testing runs the smoke tests", { status: "smoke_testing" }, world({ blue: 100, green: 0 }), null, T0, "runSmoke"],
    ["step weights not set: set them", {}, world({ blue: 100, green: 0 }), null, T0, "setWeights:90/10"],
    ["step weights confirmed: record the step once", {}, world({ blue: 90, green: 10 }), null, T0, "transition:shifting"],
    ["baking with passing gates: wait", { stepReachedAt: T0 }, world({ blue: 90, green: 10 }), passing, at(30), "wait"],
    ["a gate fails mid-bake: roll back at once", { stepReachedAt: T0 }, world({ blue: 90, green: 10 }), failing, at(5), "transition:rolling_back"],
    ["bake over, gates pass: next step", { stepReachedAt: T0 }, world({ blue: 90, green: 10 }), passing, at(60), "transition:shifting"],
    ["bake over, gates waiting for traffic: wait", { stepReachedAt: T0 }, world({ blue: 90, green: 10 }), waiting, at(120), "wait"],
    ["promote now skips the bake and the wait for traffic", { stepReachedAt: T0, skipBake: true }, world({ blue: 90, green: 10 }), waiting, at(1), "transition:shifting"],
    ["promote now does not skip a failing gate", { stepReachedAt: T0, skipBake: true }, world({ blue: 90, green: 10 }), failing, at(1), "transition:rolling_back"],
    ["last step passed: smoke tests at 100%", { stepIndex: 2, stepReachedAt: T0 }, world({ blue: 0, green: 100 }), passing, at(60), "transition:smoke_testing"],
    ["validation over: succeeded", { status: "validating", phaseStartedAt: T0 }, world({ blue: 0, green: 100 }), passing, at(16), "transition:succeeded"],
    ["validation drifted weights are repaired", { status: "validating" }, world({ blue: 10, green: 90 }), passing, at(1), "setWeights:0/100"],
    ["rolling back: 100% to the live slot first", { status: "rolling_back", outcome: "rolled_back", breachAt: T0 }, world({ blue: 50, green: 50 }), null, at(1), "setWeights:100/0"],
    ["rolling back: restored, recorded once", { status: "rolling_back", outcome: "rolled_back", breachAt: T0 }, world({ blue: 100, green: 0 }), null, at(1), "transition:rolling_back"],
    ["rolling back: hooks after traffic is restored", { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1), hasRollbackHooks: true }, world({ blue: 100, green: 0 }), null, at(2), "runRollbackHooks"],
    ["rolling back: then green is scaled down", { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1) }, world({ blue: 100, green: 0 }), null, at(2), "scaleDown"],
    ["rolling back: then finished", { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1) }, world({ blue: 100, green: 0 }, { rollout: "stopped", releaseId: null, desired: 0, running: 0 }), null, at(3), "transition:rolled_back"],
    ["rolling back: tasks still draining (desired 0) count as done", { status: "rolling_back", outcome: "rolled_back", rollbackCompletedAt: at(1) }, world({ blue: 100, green: 0 }, { rollout: "in_progress", desired: 0, running: 2 }), null, at(3), "transition:rolled_back"],
    ["aborting ends as aborted, without hooks", { status: "rolling_back", outcome: "aborted", rollbackCompletedAt: at(1), hasRollbackHooks: true }, world({ blue: 100, green: 0 }, { rollout: "stopped", releaseId: null, desired: 0, running: 0 }), null, at(3), "transition:aborted"],
    ["paused does nothing", { status: "paused" }, world({ blue: 90, green: 10 }), null, T0, "wait"],
  ])("%s", (_name, partial, observed, gateResults, now, expected) => {
    expect(summary(decide(deployment(partial), { observed, gates: gateResults, metrics: null, now }))).toBe(expected);
  });

  it("holds a new step (but never a rollback) while a maintenance window is closing", () => {
    const hold = "Holding: window closing";
    expect(decide(deployment({ stepIndex: 1 }), { observed: world({ blue: 90, green: 10 }), gates: null, metrics: null, now: T0, stepHold: hold })).toMatchObject({ kind: "wait", reason: hold });
    expect(summary(decide(deployment({ status: "rolling_back", outcome: "rolled_back", breachAt: T0 }), { observed: world({ blue: 50, green: 50 }), gates: null, metrics: null, now: T0, stepHold: hold }))).toBe("setWeights:100/0");
  });

  it("records which gate failed, its value and threshold, and when", () => {
    const action = decide(deployment({ stepReachedAt: T0 }), { observed: world({ blue: 90, green: 10 }), gates: failing, metrics: null, now: at(5) });
    expect(action).toMatchObject({ kind: "transition", to: "rolling_back", patch: { outcome: "rolled_back", breachAt: at(5), rollbackReason: { kind: "gate", gate: "error_rate_absolute", observed: 30, threshold: 0.5, weight: 10 } } });
  });

  it("goes straight to 100% for the first release of an environment", () => {
    expect(effectiveSteps({ fromReleaseId: null, policy: defaultPolicy(true) })).toEqual([100]);
    expect(summary(decide(deployment({ fromReleaseId: null }), { observed: world({ blue: 100, green: 0 }), gates: null, metrics: null, now: T0 }))).toBe("setWeights:0/100");
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
    if (round === "full_traffic" && failed.length) expect(action).toMatchObject({ patch: { outcome: "rolled_back", breachAt: T0 } });
  });
});

describe("the state machine", () => {
  it("has an entry for every status, and terminal statuses lead nowhere", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...DEPLOYMENT_STATUSES].sort());
    for (const status of TERMINAL) expect(TRANSITIONS[status]).toEqual([]);
  });

  it("lets every active status reach rolling_back, and rolling_back end in a terminal status", () => {
    for (const status of ACTIVE.filter((s) => s !== "rolling_back")) expect(canTransition(status, "rolling_back"), status).toBe(true);
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
});

describe("policy validation names the field", () => {
  const base = defaultPolicy(true);
  it.each<[string, unknown, string]>([
    ["steps", { ...base, steps: [50, 10, 100] }, "steps: must rise from one step to the next"],
    ["steps", { ...base, steps: [] }, "steps: must not be empty"],
    ["steps", { ...base, steps: [10, 101] }, "steps.1: must not exceed 100"],
    ["steps", { ...base, steps: [0, 100] }, "steps.0: must be between 1 and 100"],
    ["gates", { ...base, gates: { ...base.gates, maxP95Ms: 0 } }, "gates.maxP95Ms: must be between 1 and 600000 ms"],
    ["smoke", { ...base, smokeTests: [{ kind: "http", name: "x", path: "no-slash" }] }, "smokeTests.0.path: must be a path starting with /"],
    ["smoke kind", { ...base, smokeTests: [{ kind: "ftp", name: "x", path: "/" }] }, "smokeTests.0.kind: kind must be http or websocket"],
  ])("%s", (_name, policy, message) => {
    const result = policySchema.safeParse(policy);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(`${issue.path.join(".")}: ${issue.message}`).toBe(message);
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
    expect(Object.fromEntries(readAlertWindow(seconds, { errorRatePercent: 5, p95Ms: 1500 }).map((r) => [r.metric, r.breached]))).toEqual(expected);
  });
});

describe("figures", () => {
  it("measure duration, breach to rollback and the error-rate change", () => {
    expect(
      computeFigures({ startedAt: T0, finishedAt: at(600), breachAt: at(300), rollbackCompletedAt: at(301.25), greenErrorRatePercent: 0.35, baselineErrorRatePercent: 0.3, secondsWithoutSuccess: 0 }),
    ).toMatchObject({ durationSeconds: 600, breachToRollbackSeconds: 1.25, errorRateChangePp: 0.05, secondsWithoutSuccess: 0, targets: { durationSeconds: 1800, breachToRollbackSeconds: 300 } });
  });
});
