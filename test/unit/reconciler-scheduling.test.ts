/**
 * The reconciler's scheduling rules, as tables: which pass starts first, how long a deployment
 * waits after failed passes, when a lease is renewed, each instance's fair share, and which leases
 * an instance hands back when another joins.
 */
import { describe, expect, it } from "vitest";
import {
  fairShare,
  leaseRenewable,
  beatEveryMs,
  leasesToHandBack,
  passBackoffMs,
  passOrder,
  PassDeadlineExceeded,
  spreadWaitMs,
} from "../../server/releases/scheduling.ts";

describe("passOrder: rollbacks first, then the longest-waiting", () => {
  it.each([
    {
      due: [
        { id: "fwd", rollingBack: false, dueAt: 0 },
        { id: "rb", rollingBack: true, dueAt: 500 },
      ],
      order: ["rb", "fwd"],
    },
    {
      due: [
        { id: "late", rollingBack: false, dueAt: 900 },
        { id: "early", rollingBack: false, dueAt: 100 },
      ],
      order: ["early", "late"],
    },
    {
      due: [
        { id: "fwd-early", rollingBack: false, dueAt: 1 },
        { id: "rb-late", rollingBack: true, dueAt: 9 },
        { id: "rb-early", rollingBack: true, dueAt: 2 },
      ],
      order: ["rb-early", "rb-late", "fwd-early"],
    },
    { due: [], order: [] },
  ])("$order", ({ due, order }) => {
    expect(passOrder(due).map((p) => p.id)).toEqual(order);
  });
});

describe("spreadWaitMs: the planner's wait ±10 %, short waits exact", () => {
  it.each([
    [50, 0, 50],
    [99, 1, 99],
    [200, 0, 180],
    [200, 0.5, 200],
    [200, 1, 220],
    [1000, 0, 900],
    [1000, 0.999, 1100],
    [5000, 1, 5500],
  ])("%i ms with random %f → %i ms", (wait, random, ms) => {
    expect(spreadWaitMs(wait, () => random)).toBe(ms);
  });
});

describe("passBackoffMs: doubling from 250 ms, capped at 8 s (2 s while rolling back), ±25% jitter", () => {
  const middle = () => 0.5;
  it.each([
    [1, false, 250],
    [2, false, 500],
    [3, false, 1000],
    [6, false, 8000],
    [20, false, 8000],
    [1, true, 250],
    [4, true, 2000],
    [20, true, 2000],
  ])("failure %i, rolling back %s → %i ms", (failures, rollingBack, ms) => {
    expect(passBackoffMs(failures, rollingBack, middle)).toBe(ms);
  });
  it("jitters within ±25%", () => {
    expect(passBackoffMs(3, false, () => 0)).toBe(750);
    expect(passBackoffMs(3, false, () => 0.999999)).toBe(1250);
  });
});

describe("leaseRenewable: only while passes make progress (not stuck 2 s past a 30 s deadline)", () => {
  it.each([
    [null, 10_000, true, "no pass in flight"],
    [9_000, 10_000, true, "a pass within its deadline"],
    [0, 30_500, true, "a pass whose abort is being handled"],
    [0, 31_999, true, "a pass just inside the margin after its deadline"],
    [0, 32_000, false, "a pass that ignored its abort for 2 s"],
    [0, 95_000, false, "a pass stuck long past its deadline"],
  ])("pass started %s, now %i → %s (%s)", (startedAt, now, renew, _why) => {
    expect(leaseRenewable(startedAt, now, 30_000)).toBe(renew);
  });
});

describe("beatEveryMs: a lease is renewed well before it runs out", () => {
  it.each([
    [10_000, 1000, "the default lease: every second"],
    [3_000, 1000, "three beats in a lease"],
    [2_400, 800, "a shorter lease: three beats in it"],
    [800, 266, "the tests' short lease (renewed once a second it lapsed for 0.2 s in every second)"],
    [2, 1, "never a zero interval"],
  ])("lease %i ms → every %i ms (%s)", (leaseMs, every, _why) => {
    expect(beatEveryMs(leaseMs)).toBe(every);
    expect(every * 3).toBeLessThanOrEqual(Math.max(3, leaseMs));
  });
});

describe("fairShare", () => {
  it.each([
    [0, 1, 0],
    [20, 1, 20],
    [20, 2, 10],
    [21, 2, 11],
    [1, 3, 1],
    [5, 0, 5],
  ])("%i deployments, %i live instances → %i each", (deployments, instances, share) => {
    expect(fairShare(deployments, instances)).toBe(share);
  });
});

describe("leasesToHandBack: idle, settled ones, forward-moving before rollbacks, newest claims first", () => {
  const lease = (
    id: string,
    claimedAt: number,
    extra: { running?: boolean; settling?: boolean; rollingBack?: boolean } = {},
  ) => ({ id, claimedAt, running: false, settling: false, rollingBack: false, ...extra });
  it.each([
    { held: [lease("a", 1), lease("b", 2)], share: 2, back: [] },
    { held: [lease("a", 1), lease("b", 2), lease("c", 3)], share: 1, back: ["c", "b"] },
    { held: [lease("a", 1), lease("b", 2, { running: true }), lease("c", 3)], share: 1, back: ["c", "a"] },
    { held: [lease("rb", 9, { rollingBack: true }), lease("fwd", 1)], share: 1, back: ["fwd"] },
    { held: [lease("a", 1, { running: true }), lease("b", 2, { running: true })], share: 0, back: [] },
    {
      held: [lease("a", 1), lease("b", 2, { settling: true }), lease("c", 3, { settling: true })],
      share: 1,
      back: ["a"],
    },
  ])("share $share → hand back $back", ({ held, share, back }) => {
    expect(leasesToHandBack(held, share)).toEqual(back);
  });
});

it("a deadline's message says how long the pass had", () => {
  expect(new PassDeadlineExceeded(30_000).message).toBe("the pass reached its 30 s deadline");
  expect(new PassDeadlineExceeded(1_500).message).toBe("the pass reached its 1.5 s deadline");
});
