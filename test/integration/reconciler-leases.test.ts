/**
 * Leases and heartbeats on a real database (PGlite here, PostgreSQL in that tier): the rows
 * (claim order, owner guards, dead processes on this host), then two reconcilers in one process
 * sharing the active deployments fairly, and a pass that hangs in spite of its abort signal
 * letting its lease lapse so the other reconciler takes the deployment over.
 *
 * The target is a scripted stand-in for infrastructure: green starts and traffic moves, but the
 * metrics never come in, so deployments stay active at their first step; one observe call can be
 * made to hang for good.
 */
import { spawnSync } from "node:child_process";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { createPanelEvents } from "../../server/realtime/events.ts";
import { runCommand, startDeployment } from "../../server/releases/commands.ts";
import { LeaseRows } from "../../server/releases/leases.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy, type Policy } from "../../server/releases/policy.ts";
import { Reconciler } from "../../server/releases/reconciler.ts";
import {
  emptySlotMetrics,
  type DriverCallOptions,
  type EnvironmentRef,
  type Observed,
  type Slot,
  type TargetDriver,
  type Weights,
  type WindowMetrics,
} from "../../server/targets/driver.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";

let db: TestDatabase;
const deployments: string[] = [];
const log = pino({ level: "silent" });

/**
 * Green starts at once and traffic moves, but the metrics never come in: deployments stay active,
 * waiting at their first step. Observe can be told to hang once, ignoring its signal.
 */
class ParkedTarget implements TargetDriver {
  readonly kind = "local" as const;
  readonly ensured = new Map<string, string>();
  readonly weights = new Map<string, Weights>();
  /** Environments a pass has observed. */
  readonly observed = new Set<string>();
  hangNextObserve = false;
  /** Writes asked for with a signal that had already been aborted (a stuck pass acting late). */
  writesAfterAbort = 0;
  releaseHung: (() => void) | null = null;
  lateReports = 0;

  private write(options?: DriverCallOptions): void {
    if (options?.signal?.aborted) this.writesAfterAbort++;
  }

  async observe(env: EnvironmentRef): Promise<Observed> {
    this.observed.add(env.id);
    if (this.hangNextObserve) {
      this.hangNextObserve = false;
      await new Promise<void>((resolve) => (this.releaseHung = resolve));
      // What it finally reports is old news: no traffic on green (a pass acting on it would shift again).
      this.weights.delete(env.id);
      this.lateReports++;
    }
    const green = this.ensured.get(env.id) ?? null;
    const slot = (s: Slot, releaseId: string | null) =>
      releaseId
        ? {
            slot: s,
            releaseId,
            desired: 1,
            running: 1,
            healthy: 1,
            pending: 0,
            rollout: "steady" as const,
            detail: null,
          }
        : {
            slot: s,
            releaseId: null,
            desired: 0,
            running: 0,
            healthy: 0,
            pending: 0,
            rollout: "stopped" as const,
            detail: null,
          };
    return {
      slots: { blue: slot("blue", null), green: slot("green", green) },
      weights: this.weights.get(env.id) ?? { blue: 100, green: 0 },
    };
  }
  async ensureRelease(env: EnvironmentRef, _slot: Slot, release: { id: string }, options?: DriverCallOptions) {
    this.write(options);
    this.ensured.set(env.id, release.id);
  }
  async setWeights(env: EnvironmentRef, weights: Weights, options?: DriverCallOptions) {
    this.write(options);
    this.weights.set(env.id, weights);
  }
  async scale(_env: EnvironmentRef, _slot: Slot, _count: number, options?: DriverCallOptions) {
    this.write(options);
  }
  async metrics(_env: EnvironmentRef, window: { from: Date; to: Date }): Promise<WindowMetrics> {
    return {
      from: window.from,
      to: window.to,
      slots: { blue: emptySlotMetrics(), green: emptySlotMetrics() },
      complete: false,
    };
  }
  async slotUrl(): Promise<string> {
    return "http://127.0.0.1:9";
  }
}

/** No smoke tests, and a bake no test waits out. */
const PARKED: Policy = { ...defaultPolicy(false), smokeTests: [], bakeSeconds: 3600 };

beforeAll(async () => {
  db = await openTestDatabase();
  // Four that stay active, and a fifth for the claim-order test.
  for (let i = 0; i < 5; i++) {
    const service = await db.prisma.service.create({ data: { slug: `svc-${i}`, name: `Service ${i}` } });
    const env = await db.prisma.environment.create({
      data: {
        serviceId: service.id,
        name: "staging",
        position: 0,
        target: "local",
        policy: PARKED,
        alertThresholds: DEFAULT_ALERT_THRESHOLDS,
      },
    });
    const release = await db.prisma.release.create({
      data: { serviceId: service.id, version: "1.0.0", artifact: "demo:1.0.0" },
    });
    const d = await startDeployment(db.prisma, systemActor(), { releaseId: release.id, environmentId: env.id });
    // One second apart: "the oldest first" is well defined.
    await db.prisma.deployment.update({
      where: { id: d.id },
      data: { startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) },
    });
    deployments.push(d.id);
  }
});
afterAll(() => db?.close());

const owners = async () => {
  const rows = await db.prisma.deployment.findMany({
    where: { activeEnvironmentId: { not: null } },
    select: { leaseOwner: true },
  });
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.leaseOwner ?? "none", (count.get(r.leaseOwner ?? "none") ?? 0) + 1);
  return count;
};
const free = () => db.prisma.deployment.updateMany({ data: { leaseOwner: null, leaseExpiresAt: null } });

describe("the lease rows", () => {
  afterEach(async () => {
    await free();
    await db.prisma.reconcilerInstance.deleteMany({});
  });

  it("claims rollbacks first, then the oldest, up to the limit, skipping what it is told to", async () => {
    await runCommand(db.prisma, systemActor(), "abort", { deploymentId: deployments[4]! });
    const rows = new LeaseRows(db.prisma, "host-a#1#x", 10_000);
    const first = await rows.claim(2, [deployments[0]!]);
    // Of 1 to 4 (0 is excluded): the rollback (4, the newest) and then the oldest (1).
    expect(new Map(first.map((r) => [r.id, r.status]))).toEqual(
      new Map([
        [deployments[4], "rolling_back"],
        [deployments[1], "preparing"],
      ]),
    );
    const rest = await rows.claim(10, []);
    expect(rest.map((r) => r.id).sort()).toEqual([deployments[0], deployments[2], deployments[3]].sort());
    expect(await rows.claim(10, [])).toEqual([]);
    // The other tests have four active deployments.
    await db.prisma.deployment.update({
      where: { id: deployments[4]! },
      data: { status: "aborted", activeEnvironmentId: null, finishedAt: new Date() },
    });
  });

  it("renews and hands back only its own leases", async () => {
    const a = new LeaseRows(db.prisma, "host-a#1#a", 10_000);
    const b = new LeaseRows(db.prisma, "host-b#1#b", 10_000);
    const mine = (await a.claim(2, [])).map((r) => r.id);
    expect((await b.renew(mine)).length).toBe(0);
    expect((await a.renew(mine)).map((r) => r.id).sort()).toEqual([...mine].sort());
    await b.handBack(mine);
    expect((await owners()).get("host-a#1#a")).toBe(2);
    await a.handBack(mine);
    expect((await owners()).get("host-a#1#a")).toBeUndefined();
  });

  it("counts live instances, and a dead process on this host loses its heartbeat and its leases at once", async () => {
    const exited = spawnSync(process.execPath, ["-e", "process.pid"]).pid;
    const host = (await import("node:os")).hostname();
    const dead = new LeaseRows(db.prisma, `${host}#${exited}#dead`, 60_000);
    const other = new LeaseRows(db.prisma, `elsewhere#${process.pid}#other`, 60_000);
    const me = new LeaseRows(db.prisma, `${host}#${process.pid}#me`, 60_000);
    await dead.heartbeat();
    await other.heartbeat();
    expect(await dead.claim(4, [])).toHaveLength(4);
    // The dead instance's heartbeat goes; the other host's stays (its liveness is its heartbeat).
    expect(await me.heartbeat()).toBe(2);
    expect((await db.prisma.reconcilerInstance.findMany()).map((i) => i.id).sort()).toEqual(
      [`${host}#${process.pid}#me`, `elsewhere#${process.pid}#other`].sort(),
    );
    // Its 60-second leases are taken over now, not when they expire.
    expect(await me.claim(4, [])).toHaveLength(4);
  });
});

describe("two reconcilers", () => {
  const target = new ParkedTarget();
  const reconciler = (leaseMs = 10_000, passDeadlineMs = 30_000) =>
    new Reconciler({
      prisma: db.prisma,
      log,
      events: createPanelEvents(),
      drivers: () => target,
      leaseMs,
      passDeadlineMs,
    });

  it("share the active deployments fairly, and the one left takes them all back when the other stops", async () => {
    const first = reconciler();
    const second = reconciler();
    try {
      first.start();
      await waitFor(async () => (await owners()).get(first.instanceId) === 4, "the first to drive all four");
      second.start();
      await waitFor(async () => {
        const count = await owners();
        return count.get(first.instanceId) === 2 && count.get(second.instanceId) === 2;
      }, "two each");
      await waitFor(() => target.observed.size === 4, "all four to be driven");
      await second.stop();
      await waitFor(async () => (await owners()).get(first.instanceId) === 4, "the first to take all four back");
    } finally {
      await second.stop();
      await first.stop();
    }
    expect(await db.prisma.reconcilerInstance.count()).toBe(0);
  });

  it("a lease shorter than a second is renewed before it runs out: another instance asking for it all along never gets it", async () => {
    // Only deployment 0 stays active for this test.
    for (const id of deployments.slice(1))
      await db.prisma.deployment.updateMany({
        where: { id, activeEnvironmentId: { not: null } },
        data: { status: "aborted", activeEnvironmentId: null, finishedAt: new Date() },
      });
    const owner = reconciler(800, 30_000);
    // Another host's instance, so its claims are judged by leases alone.
    const thief = new LeaseRows(db.prisma, `elsewhere#${process.pid}#thief`, 800);
    try {
      owner.start();
      await waitFor(async () => (await owners()).get(owner.instanceId) === 1, "the owner to hold the deployment");
      // Three leases' worth of beats, asking every 25 ms. Renewed once a second, an 0.8 s lease lapsed
      // for 0.2 s in every second, and a claim in that gap took the deployment from an owner making progress.
      let stolen: string[] = [];
      const theft = waitFor(
        async () => (stolen = (await thief.claim(1, [])).map((row) => row.id)).length > 0,
        "another instance to take the lease",
        3 * 800 + 1000,
      );
      await expect(theft).rejects.toThrow(/^Timed out/);
      expect(stolen).toEqual([]);
      expect((await owners()).get(owner.instanceId)).toBe(1);
    } finally {
      await owner.stop();
      await thief.leave();
    }
  });

  it("a pass that hangs in spite of its deadline stops renewing its lease; the other reconciler takes the deployment over, and the late pass does nothing", async () => {
    // Only deployment 0 stays active for this test.
    for (const id of deployments.slice(1)) {
      const d = await db.prisma.deployment.findUniqueOrThrow({ where: { id } });
      if (d.activeEnvironmentId)
        await db.prisma.deployment.update({
          where: { id },
          data: { status: "aborted", activeEnvironmentId: null, finishedAt: new Date() },
        });
    }
    const env0 = (await db.prisma.deployment.findUniqueOrThrow({ where: { id: deployments[0]! } })).environmentId;
    const stuck = reconciler(800, 500);
    const other = reconciler(800, 500);
    try {
      stuck.start();
      await waitFor(
        async () =>
          (await db.prisma.deployment.findUniqueOrThrow({ where: { id: deployments[0]! } })).stepReachedAt !== null,
        "the first step to be reached",
      );
      target.hangNextObserve = true;
      await waitFor(() => target.releaseHung !== null, "a pass to hang");
      expect((await owners()).get(stuck.instanceId)).toBe(1);
      other.start();
      await waitFor(
        async () => (await owners()).get(other.instanceId) === 1,
        "the other reconciler to take the deployment over",
        15_000,
      );
      // The hung call returns at last: the stuck pass, long past its deadline, acts no more.
      target.releaseHung!();
      await waitFor(() => target.lateReports === 1, "the hung call to return");
      await waitFor(() => target.weights.has(env0), "the weights to be set again (the late report said they were not)");
      expect(target.writesAfterAbort).toBe(0);
      expect((await owners()).get(other.instanceId)).toBe(1);
    } finally {
      target.releaseHung?.();
      await other.stop();
      await stuck.stop();
    }
  });
});
