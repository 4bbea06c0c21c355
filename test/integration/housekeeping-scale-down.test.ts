/**
 * Housekeeping's scale-downs are independent of each other: environment A's former live slot cannot
 * be scaled down (its AWS keeps failing, or goes silent), and environment B's still is, at once.
 * A is created first, so it comes first among the due environments. The target is a scripted
 * stand-in whose `scale` fails, hangs until its signal aborts, or succeeds, per environment.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { createPanelEvents } from "../../server/realtime/events.ts";
import { DEFAULT_ALERT_THRESHOLDS, defaultPolicy } from "../../server/releases/policy.ts";
import { Reconciler } from "../../server/releases/reconciler.ts";
import {
  emptySlotMetrics,
  type DriverCallOptions,
  type EnvironmentRef,
  type Observed,
  type Slot,
  type TargetDriver,
  type WindowMetrics,
} from "../../server/targets/driver.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";

type Behaviour = "fail" | "hang" | "succeed";

/** Only `scale` is called (no deployment is active); what it does is set per environment. */
class ScriptedScale implements TargetDriver {
  readonly kind = "local" as const;
  readonly behaviour = new Map<string, Behaviour>();
  /** Every scale call, by environment id, in order. */
  readonly calls: { envId: string; slot: Slot; count: number }[] = [];
  /** Calls still waiting (the hanging ones). */
  pending = 0;

  async scale(env: EnvironmentRef, slot: Slot, count: number, options?: DriverCallOptions): Promise<void> {
    this.calls.push({ envId: env.id, slot, count });
    const behaviour = this.behaviour.get(env.id) ?? "succeed";
    if (behaviour === "fail") throw new Error(`ecs:UpdateService failed for ${env.name}: ServiceUnavailable`);
    if (behaviour === "hang") {
      // A silent endpoint: nothing comes back until the caller's signal gives up.
      this.pending++;
      try {
        await new Promise<never>((_, reject) => {
          const signal = options?.signal;
          if (!signal) return;
          signal.addEventListener("abort", () => reject(new Error(`ecs:UpdateService was stopped`)), { once: true });
        });
      } finally {
        this.pending--;
      }
    }
  }
  callsFor(envId: string) {
    return this.calls.filter((c) => c.envId === envId);
  }
  async observe(): Promise<Observed> {
    throw new Error("not used");
  }
  async ensureRelease(): Promise<void> {}
  async setWeights(): Promise<void> {}
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

let db: TestDatabase;
let reconciler: Reconciler | null = null;
let logged: { action?: string; msg?: string; metadata?: Record<string, unknown> }[] = [];
const log = pino(
  { level: "warn" },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(JSON.parse(chunk.toString()) as (typeof logged)[number]);
      done();
    },
  }),
);

beforeAll(async () => {
  db = await openTestDatabase();
});

afterEach(async () => {
  await reconciler?.stop();
  reconciler = null;
  logged = [];
  // Nothing left due for the next test's reconciler.
  await db.prisma.environment.updateMany({ data: { scaleDownAt: null, scaleDownSlot: null } });
});

afterAll(async () => {
  await db?.close();
});

let serial = 0;
/** An environment whose former live slot (blue) was due to be scaled down a minute ago. */
async function environmentDue(name: string): Promise<string> {
  const service = await db.prisma.service.create({ data: { slug: `svc-${++serial}`, name: `Service ${serial}` } });
  const env = await db.prisma.environment.create({
    data: {
      serviceId: service.id,
      name,
      position: 0,
      target: "local",
      policy: defaultPolicy(false),
      alertThresholds: DEFAULT_ALERT_THRESHOLDS,
      liveSlot: "green",
      scaleDownSlot: "blue",
      scaleDownAt: new Date(Date.now() - 60_000),
    },
  });
  return env.id;
}

const scaleDownAt = async (id: string) =>
  (await db.prisma.environment.findUniqueOrThrow({ where: { id } })).scaleDownAt;

function startReconciler(target: ScriptedScale, passDeadlineMs: number): Reconciler {
  reconciler = new Reconciler({
    prisma: db.prisma,
    log,
    events: createPanelEvents(),
    drivers: () => target,
    passDeadlineMs,
  });
  reconciler.start();
  return reconciler;
}

describe("housekeeping scale-downs", () => {
  it("scales B down although A's scale-down keeps failing, logs A's failure, and tries A again", async () => {
    const a = await environmentDue("a");
    const b = await environmentDue("b");
    const target = new ScriptedScale();
    target.behaviour.set(a, "fail");
    startReconciler(target, 30_000);

    await waitFor(async () => (await scaleDownAt(b)) === null, "B's scale-down to be recorded");
    expect(target.callsFor(b)).toEqual([{ envId: b, slot: "blue", count: 0 }]);
    const audit = await db.prisma.auditEvent.findMany({
      where: { action: "environment.slot_scaled_down", entityId: { in: [a, b] } },
    });
    expect(audit.map((e) => e.entityId)).toEqual([b]);

    // A is tried again after a backoff, and stays due until it succeeds.
    await waitFor(() => target.callsFor(a).length >= 2, "A's scale-down to be tried again");
    expect(await scaleDownAt(a)).not.toBeNull();
    const failure = logged.find((l) => l.action === "reconciler.scale_down_failed");
    expect(failure?.metadata).toMatchObject({ environmentId: a, slot: "blue", attempt: 1 });
    expect(failure?.msg).toMatch(
      /^Could not scale down the former live slot blue of svc-\d+\/a \(attempt 1, next in \d+ s\): ecs:UpdateService failed for a: ServiceUnavailable$/,
    );

    // Once A's AWS answers, A is scaled down too.
    target.behaviour.set(a, "succeed");
    await waitFor(async () => (await scaleDownAt(a)) === null, "A's scale-down once its AWS answers");
  });

  it("scales B down while A's scale-down hangs (A's deadline is not B's)", async () => {
    const a = await environmentDue("a");
    const b = await environmentDue("b");
    const target = new ScriptedScale();
    target.behaviour.set(a, "hang");
    // A deadline no test waits for: B may not wait on A's.
    startReconciler(target, 60_000);

    await waitFor(() => target.pending === 1, "A's scale-down to hang");
    await waitFor(async () => (await scaleDownAt(b)) === null, "B's scale-down while A's hangs");
    expect(target.pending, "A's call is still in flight").toBe(1);
    expect(target.callsFor(a)).toHaveLength(1);
  });

  it("a hanging scale-down ends at its deadline with a message that says so", async () => {
    const a = await environmentDue("a");
    const target = new ScriptedScale();
    target.behaviour.set(a, "hang");
    startReconciler(target, 500);

    const failure = await waitFor(
      () => logged.find((l) => l.action === "reconciler.scale_down_failed"),
      "A's scale-down to fail at its deadline",
    );
    expect(failure.metadata).toMatchObject({
      environmentId: a,
      error: "ecs:UpdateService was stopped (the scale-down reached its 0.5 s deadline)",
    });
    expect(await scaleDownAt(a)).not.toBeNull();
  });
});
