/**
 * The local target for real: child processes running the demo service, the weighted proxy on an
 * OS-chosen port, real HTTP and WebSocket through it, and the rows that let a restarted panel adopt
 * what it left running. Every process started here is killed when the file ends.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import pino from "pino";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentRef, Observed, ReleaseRef, Slot } from "../../server/targets/driver.ts";
import os from "node:os";
import { dataPlaneCommand, TRAFFIC_PRIORITY } from "../../server/targets/local/data-plane/supervisor.ts";
import {
  bundleDataPlane,
  DATA_PLANE_MAIN,
  DATA_PLANE_SCRIPT_PREFIX,
} from "../../server/targets/local/data-plane/script.ts";
import {
  DEMO_SERVICE_PATH,
  LocalTarget,
  type EnvironmentSecond,
  type LocalTargetOptions,
} from "../../server/targets/local/local-target.ts";
import {
  isAlive,
  parentOf,
  processGroupOf,
  processIdentity,
  signalProcessGroup,
  threadsOf,
} from "../../server/targets/local/slot-process.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const databases: TestDatabase[] = [];
const targets: LocalTarget[] = [];
const pids = new Set<number>();

async function openDb(): Promise<{ db: TestDatabase; serviceId: string }> {
  const db = await openTestDatabase();
  databases.push(db);
  const service = await db.prisma.service.create({
    data: { slug: `svc-${randomBytes(4).toString("hex")}`, name: "Demo" },
  });
  return { db, serviceId: service.id };
}

function newTarget(db: TestDatabase, options: Partial<LocalTargetOptions> = {}): LocalTarget {
  const target = new LocalTarget({ prisma: db.prisma, log, ...options });
  targets.push(target);
  return target;
}

function newEnv(): EnvironmentRef {
  return { id: randomUUID(), serviceSlug: "demo", name: "staging", target: "local", targetConfig: {} };
}

let versions = 0;
async function newRelease(
  db: TestDatabase,
  serviceId: string,
  settings: Record<string, unknown> = {},
): Promise<ReleaseRef> {
  const version = `1.${++versions}.0-${randomBytes(2).toString("hex")}`;
  const row = await db.prisma.release.create({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- Prisma's JSON input type needs it (tsc refuses the record)
    data: { serviceId, version, artifact: `demo:${version}`, settings: settings as object },
  });
  return { id: row.id, version, artifact: row.artifact, settings };
}

async function slotRow(db: TestDatabase, env: EnvironmentRef, slot: Slot) {
  const row = await db.prisma.localSlotProcess.findUnique({
    where: { environmentId_slot: { environmentId: env.id, slot } },
  });
  if (row) pids.add(row.pid);
  return row;
}

/** Polls `observe` until `check` holds; the observation. */
async function observeUntil(
  target: LocalTarget,
  env: EnvironmentRef,
  what: string,
  check: (o: Observed) => boolean,
): Promise<Observed> {
  return waitFor(async () => {
    const observed = await target.observe(env);
    return check(observed) ? observed : null;
  }, what);
}

const steady = (target: LocalTarget, env: EnvironmentRef, slot: Slot, releaseId: string) =>
  observeUntil(
    target,
    env,
    `${slot} steady on ${releaseId}`,
    (o) => o.slots[slot].rollout === "steady" && o.slots[slot].releaseId === releaseId,
  );

interface Answer {
  status: number;
  slot: string | null;
  cookies: string[];
  json: Record<string, unknown>;
}
async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return {
    status: response.status,
    slot: response.headers.get("x-greenlight-slot"),
    cookies: response.headers.getSetCookie(),
    json,
  };
}

/** `count` requests, `parallel` at a time. */
async function many(count: number, url: string, parallel = 20): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i += parallel) {
    answers.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, () => get(url)))));
  }
  return answers;
}

const countBy = (answers: Answer[], slot: Slot) => answers.filter((a) => a.slot === slot).length;

function webSocketHello(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ hello: Record<string, unknown>; echo: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("WebSocket timed out"));
    }, 5000);
    let hello: Record<string, unknown> | null = null;
    ws.on("message", (data) => {
      if (!hello) {
        hello = JSON.parse((data as Buffer).toString("utf8")) as Record<string, unknown>;
        ws.send("ping through the proxy");
        return;
      }
      clearTimeout(timer);
      resolve({ hello, echo: (data as Buffer).toString("utf8") });
      ws.close();
    });
    ws.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

afterAll(async () => {
  await Promise.allSettled(targets.map((t) => t.stop()));
  for (const db of databases) {
    for (const row of await db.prisma.localSlotProcess.findMany().catch(() => [])) pids.add(row.pid);
  }
  for (const pid of pids) if (isAlive(pid)) signalProcessGroup(pid, "SIGKILL");
  await waitFor(() => [...pids].every((pid) => !isAlive(pid)), "every test process to be gone", 5000);
  await Promise.allSettled(databases.map((db) => db.close()));
});

describe("local target", () => {
  let db: TestDatabase;
  let serviceId: string;
  let target: LocalTarget;
  beforeAll(async () => {
    ({ db, serviceId } = await openDb());
    target = newTarget(db);
  });

  it("creates an environment's proxy with blue 100 / green 0 and records it", async () => {
    const env = newEnv();
    const { proxyUrl } = await target.ensureEnvironment(env.id);
    expect(proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await db.prisma.localProxyState.findUnique({ where: { environmentId: env.id } })).toMatchObject({
      port: Number(new URL(proxyUrl).port),
      blueWeight: 100,
      greenWeight: 0,
    });
    const observed = await target.observe(env);
    expect(observed.weights).toEqual({ blue: 100, green: 0 });
    expect(observed.slots.blue).toMatchObject({ releaseId: null, rollout: "stopped", desired: 0, running: 0 });
    // Nothing runs yet: the proxy answers 502 for blue and counts it.
    const answer = await get(`${proxyUrl}/api/v1/version`);
    expect(answer).toMatchObject({ status: 502, slot: "blue" });
    expect(
      (await target.metrics(env, { from: new Date(Date.now() - 5000), to: new Date(Date.now() + 1000) })).slots.blue,
    ).toMatchObject({ requests: 1, errors: 1, errorRate: 1 });
  });

  it("runs a release, is idempotent, and replaces it with a new one without dropping a request", async () => {
    const env = newEnv();
    const r1 = await newRelease(db, serviceId);
    await target.ensureRelease(env, "blue", r1);
    const observed = await steady(target, env, "blue", r1.id);
    expect(observed.slots.blue).toEqual({
      slot: "blue",
      releaseId: r1.id,
      desired: 1,
      running: 1,
      healthy: 1,
      pending: 0,
      rollout: "steady",
      detail: null,
    });
    expect(observed.slots.green).toMatchObject({ releaseId: null, rollout: "stopped" });

    const first = (await slotRow(db, env, "blue"))!;
    expect(first).toMatchObject({ releaseId: r1.id, token: expect.stringMatching(/^[0-9a-f]{48}$/) });
    if (process.platform === "linux") {
      // Its own process group: a Ctrl-C in the panel's terminal does not reach it.
      expect(processGroupOf(first.pid)).toBe(first.pid);
    }
    await target.ensureRelease(env, "blue", r1);
    expect((await slotRow(db, env, "blue"))!.pid).toBe(first.pid);

    const slotUrl = await target.slotUrl(env, "blue");
    expect(slotUrl).toBe(`http://127.0.0.1:${first.port}`);
    expect((await get(`${slotUrl}/health`)).json).toEqual({ status: "ok", version: r1.version, slot: "blue" });
    expect((await get(`${slotUrl}/__greenlight/identity`)).status).toBe(403);

    // Replace r1 with r2 while requests flow through the proxy, one of them in flight on r1 for 300 ms.
    const proxyUrl = await target.proxyUrl(env.id);
    const slow = get(`${proxyUrl}/slow?ms=300`);
    let flowing = true;
    const statuses: number[] = [];
    const versionsSeen = new Set<unknown>();
    const flow = (async () => {
      while (flowing) {
        const answer = await get(`${proxyUrl}/api/v1/version`);
        statuses.push(answer.status);
        versionsSeen.add(answer.json.version);
      }
    })();
    const r2 = await newRelease(db, serviceId);
    await target.ensureRelease(env, "blue", r2);
    const second = (await slotRow(db, env, "blue"))!;
    expect(second.pid).not.toBe(first.pid);
    expect(second.releaseId).toBe(r2.id);
    await waitFor(() => !isAlive(first.pid), "the replaced process to exit");
    await waitFor(() => versionsSeen.has(r2.version), "traffic on the new release");
    flowing = false;
    await flow;
    expect((await slow).json).toMatchObject({ slept: 300, version: r1.version });
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await steady(target, env, "blue", r2.id);
  });

  describe("routing", () => {
    const env = newEnv();
    let proxyUrl: string;
    let blue: ReleaseRef;
    let green: ReleaseRef;
    beforeAll(async () => {
      blue = await newRelease(db, serviceId);
      green = await newRelease(db, serviceId);
      await Promise.all([target.ensureRelease(env, "blue", blue), target.ensureRelease(env, "green", green)]);
      await steady(target, env, "blue", blue.id);
      await steady(target, env, "green", green.id);
      proxyUrl = await target.proxyUrl(env.id);
    });

    it("sends everything to one slot at 100/0 and 0/100, and persists the weights", async () => {
      await target.setWeights(env, { blue: 100, green: 0 });
      const allBlue = await many(20, `${proxyUrl}/api/v1/version`);
      expect(allBlue.map((a) => [a.status, a.slot, a.json.slot, a.json.version])).toEqual(
        Array(20).fill([200, "blue", "blue", blue.version]),
      );

      await target.setWeights(env, { blue: 0, green: 100 });
      const allGreen = await many(20, `${proxyUrl}/api/v1/version`);
      expect(allGreen.map((a) => [a.status, a.slot, a.json.slot, a.json.version])).toEqual(
        Array(20).fill([200, "green", "green", green.version]),
      );
      expect(await db.prisma.localProxyState.findUnique({ where: { environmentId: env.id } })).toMatchObject({
        blueWeight: 0,
        greenWeight: 100,
      });
      expect((await target.observe(env)).weights).toEqual({ blue: 0, green: 100 });
    });

    it("refuses weights that are not integers from 0 to 100 adding up to 100", async () => {
      for (const weights of [
        { blue: 60, green: 50 },
        { blue: 50.5, green: 49.5 },
        { blue: -1, green: 101 },
        { blue: 0, green: 0 },
      ]) {
        await expect(target.setWeights(env, weights)).rejects.toThrow(RangeError);
      }
      expect((await target.observe(env)).weights).toEqual({ blue: 0, green: 100 });
    });

    it("splits cookie-less traffic by weight at 50/50", async () => {
      await target.setWeights(env, { blue: 50, green: 50 });
      const answers = await many(400, `${proxyUrl}/api/v1/catalog`);
      expect(answers.every((a) => a.status === 200)).toBe(true);
      // Binomial(400, 0.5): the standard deviation is 10, so ±60 is six of them.
      expect(countBy(answers, "blue")).toBeGreaterThanOrEqual(140);
      expect(countBy(answers, "green")).toBeGreaterThanOrEqual(140);
      expect(countBy(answers, "blue") + countBy(answers, "green")).toBe(400);
    });

    it("keeps a client on its slot with the gl_slot cookie while that slot has traffic", async () => {
      await target.setWeights(env, { blue: 50, green: 50 });
      const first = await get(`${proxyUrl}/api/v1/orders`);
      const slot = first.slot as Slot;
      expect(first.cookies).toEqual([`gl_slot=${slot}; Path=/; HttpOnly; SameSite=Lax`]);
      const cookie = `theme=dark; gl_slot=${slot}`;
      const again = await Promise.all(Array.from({ length: 30 }, () => get(`${proxyUrl}/api/v1/version`, { cookie })));
      expect(again.every((a) => a.slot === slot && a.json.slot === slot && a.cookies.length === 0)).toBe(true);

      // Its slot loses all traffic: the client moves and gets a new cookie.
      const other: Slot = slot === "blue" ? "green" : "blue";
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- a computed key widens the object; tsc needs the shape
      await target.setWeights(env, { blue: 0, green: 0, [other]: 100 } as { blue: number; green: number });
      const moved = await get(`${proxyUrl}/api/v1/version`, { cookie });
      expect(moved.slot).toBe(other);
      expect(moved.cookies).toEqual([`gl_slot=${other}; Path=/; HttpOnly; SameSite=Lax`]);
    });

    it("proxies WebSockets to the slot the cookie or the weights choose", async () => {
      const wsUrl = proxyUrl.replace("http:", "ws:") + "/ws";
      await target.setWeights(env, { blue: 100, green: 0 });
      expect(await webSocketHello(wsUrl)).toEqual({
        hello: { type: "hello", version: blue.version, slot: "blue" },
        echo: "ping through the proxy",
      });
      await target.setWeights(env, { blue: 50, green: 50 });
      const viaCookie = await webSocketHello(wsUrl, { cookie: "gl_slot=green" });
      expect(viaCookie.hello).toEqual({ type: "hello", version: green.version, slot: "green" });
    });
  });

  it("records errors and latency per slot: failureRate 1 on blue, latencyMs 150 on green", async () => {
    const env = newEnv();
    const failing = await newRelease(db, serviceId, { failureRate: 1 });
    const slow = await newRelease(db, serviceId, { latencyMs: 150 });
    await Promise.all([target.ensureRelease(env, "blue", failing), target.ensureRelease(env, "green", slow)]);
    await steady(target, env, "blue", failing.id);
    await steady(target, env, "green", slow.id);
    await target.setWeights(env, { blue: 50, green: 50 });
    const from = new Date();
    const proxyUrl = await target.proxyUrl(env.id);
    const answers = await many(60, `${proxyUrl}/api/v1/catalog`);
    const { slots, complete } = await target.metrics(env, { from, to: new Date() });
    expect(complete).toBe(true);
    expect(slots.blue.requests).toBe(countBy(answers, "blue"));
    expect(slots.green.requests).toBe(countBy(answers, "green"));
    expect(slots.blue.requests).toBeGreaterThan(0);
    expect(slots.blue).toMatchObject({ errors: slots.blue.requests, errorRate: 1 });
    expect(slots.green).toMatchObject({ errors: 0, errorRate: 0 });
    expect(slots.green.p95).toBeGreaterThanOrEqual(150);
    expect(slots.green.p50).toBeGreaterThanOrEqual(150);
    expect(slots.blue.p99).toBeLessThan(150);

    // scale(green, 0) stops the process and clears its row; green's traffic then gets 502, counted as errors.
    const greenRow = (await slotRow(db, env, "green"))!;
    await target.scale(env, "green", 0);
    expect(isAlive(greenRow.pid)).toBe(false);
    expect(await slotRow(db, env, "green")).toBeNull();
    expect((await target.observe(env)).slots.green).toMatchObject({
      releaseId: null,
      rollout: "stopped",
      desired: 0,
      running: 0,
    });
    await target.scale(env, "green", 0); // idempotent
    await expect(target.slotUrl(env, "green")).rejects.toThrow(/Nothing runs in the green slot/);

    await target.setWeights(env, { blue: 0, green: 100 });
    const before = (await target.metrics(env, { from, to: new Date() })).slots.green;
    const refused = await get(`${proxyUrl}/api/v1/version`);
    expect(refused).toMatchObject({ status: 502, slot: "green", json: { error: "bad gateway", slot: "green" } });
    expect((await target.metrics(env, { from, to: new Date() })).slots.green).toMatchObject({
      requests: before.requests + 1,
      errors: before.errors + 1,
    });
  });

  it("says a release with healthy:false is running but not healthy", async () => {
    const env = newEnv();
    const sick = await newRelease(db, serviceId, { healthy: false });
    await target.ensureRelease(env, "blue", sick);
    const observed = await observeUntil(target, env, "the process to run", (o) => o.slots.blue.running === 1);
    expect(observed.slots.blue).toMatchObject({
      releaseId: sick.id,
      desired: 1,
      running: 1,
      healthy: 0,
      rollout: "in_progress",
    });
    expect(observed.slots.blue.detail).toMatch(/not healthy: \/health answered 503/);
  });

  it("reports a process that exits as failed, with how it exited and its last stderr line", async () => {
    const env = newEnv();
    const crashing = await newRelease(db, serviceId, { exitAfterMs: 300 });
    await target.ensureRelease(env, "blue", crashing);
    const row = (await slotRow(db, env, "blue"))!;
    const observed = await observeUntil(target, env, "the slot to fail", (o) => o.slots.blue.rollout === "failed");
    expect(observed.slots.blue).toMatchObject({ releaseId: crashing.id, desired: 1, running: 0, healthy: 0 });
    expect(observed.slots.blue.detail).toBe(
      `process ${row.pid} exited with code 3: demo-service: exiting with code 3 after 300 ms (exitAfterMs setting)`,
    );

    // A killed one says so too; ensureRelease of the same release then starts it again.
    const good = await newRelease(db, serviceId);
    await target.ensureRelease(env, "green", good);
    const green = (await slotRow(db, env, "green"))!;
    process.kill(green.pid, "SIGKILL");
    const killed = await observeUntil(target, env, "green to fail", (o) => o.slots.green.rollout === "failed");
    expect(killed.slots.green.detail).toBe(`process ${green.pid} was killed by SIGKILL`);
    await target.ensureRelease(env, "green", good);
    expect((await slotRow(db, env, "green"))!.pid).not.toBe(green.pid);
    await steady(target, env, "green", good.id);
  });

  it("reports a command that exits before listening, and a slow starter as in progress until it listens", async () => {
    const env = newEnv();
    // Each is a panel of its own, with its own database (and so its own data plane).
    const own = await openDb();
    const broken = newTarget(own.db, {
      command: [process.execPath, "-e", "console.error('boom: missing configuration'); process.exit(2)"],
    });
    const r = await newRelease(own.db, own.serviceId);
    await broken.ensureRelease(env, "blue", r);
    const failed = await broken.observe(env);
    expect(failed.slots.blue).toMatchObject({ releaseId: r.id, rollout: "failed", running: 0 });
    expect(failed.slots.blue.detail).toMatch(
      /^process \d+ exited with code 2 before listening: boom: missing configuration$/,
    );
    expect(await slotRow(own.db, env, "blue")).toBeNull();
    await broken.stop();

    const patient = newTarget(own.db, { startWaitMs: 100 });
    const slowStart = await newRelease(own.db, own.serviceId, { startupDelayMs: 1000 });
    const env2 = newEnv();
    // The data plane and the environment's proxy first: what is timed is the slot's start alone.
    await patient.ensureEnvironment(env2.id);
    const began = Date.now();
    await patient.ensureRelease(env2, "blue", slowStart);
    expect(Date.now() - began).toBeLessThan(900);
    const starting = await patient.observe(env2);
    expect(starting.slots.blue).toMatchObject({
      releaseId: slowStart.id,
      rollout: "in_progress",
      pending: 1,
      running: 0,
    });
    await patient.ensureRelease(env2, "blue", slowStart); // still starting: nothing new
    await steady(patient, env2, "blue", slowStart.id);
    expect(await slotRow(own.db, env2, "blue")).toMatchObject({ releaseId: slowStart.id });
    expect(Date.now() - began).toBeGreaterThanOrEqual(1000);
    await patient.stop();
  });

  it("runs a traffic generator at about `rate` requests per second through the proxy", async () => {
    const env = newEnv();
    const r = await newRelease(db, serviceId);
    await target.ensureRelease(env, "blue", r);
    await steady(target, env, "blue", r.id);
    const samples: EnvironmentSecond[] = [];
    const unsubscribe = target.onSecond((s) => s.environmentId === env.id && samples.push(s));
    const started = Date.now();
    await target.setTrafficGenerator(env.id, true, 40);
    // Whole seconds that began after the generator started.
    const full = () => samples.filter((s) => s.at.getTime() >= started);
    await waitFor(() => full().length >= 3, "three whole seconds of generated traffic", 10_000);
    await target.setTrafficGenerator(env.id, false, 40);
    unsubscribe();
    const seconds = full().slice(0, 3);
    const total = seconds.reduce((sum, s) => sum + s.slots.blue.requests, 0);
    expect(total / 3).toBeGreaterThanOrEqual(32);
    expect(total / 3).toBeLessThanOrEqual(48);
    expect(
      seconds.every((s) => s.slots.green.requests === 0 && s.slots.blue.errors === 0 && s.weights.blue === 100),
    ).toBe(true);
    expect(seconds[0]!.slots.blue.p50).toBeGreaterThan(0);
  });
});

describe("a restarted panel", () => {
  let db: TestDatabase;
  let serviceId: string;
  const env = newEnv();

  beforeAll(async () => {
    // Its own database: start() brings back every environment it finds.
    ({ db, serviceId } = await openDb());
  });

  it("keeps traffic flowing, with its weights and stickiness, while the panel is down, and adopts the data plane and the slots", async () => {
    const first = newTarget(db);
    const blue = await newRelease(db, serviceId);
    const green = await newRelease(db, serviceId, { latencyMs: 1 });
    await Promise.all([first.ensureRelease(env, "blue", blue), first.ensureRelease(env, "green", green)]);
    await first.setWeights(env, { blue: 30, green: 70 });
    const proxyUrl = await first.proxyUrl(env.id);
    const before = { blue: (await slotRow(db, env, "blue"))!, green: (await slotRow(db, env, "green"))! };
    const plane = (await db.prisma.localDataPlane.findUnique({ where: { id: "local" } }))!;
    pids.add(plane.pid);
    // The data plane and the slots run ahead of the panel where it may raise priorities (root here and in CI),
    // every thread of them: Linux keeps a nice value per thread.
    const raised = process.getuid?.() === 0 ? TRAFFIC_PRIORITY : os.getPriority();
    expect([plane.pid, before.blue.pid, before.green.pid].map((pid) => os.getPriority(pid))).toEqual([
      raised,
      raised,
      raised,
    ]);
    for (const pid of [plane.pid, before.blue.pid, before.green.pid]) {
      const threads = threadsOf(pid);
      expect(threads.length, `threads of ${pid}`).toBeGreaterThan(1);
      expect(new Set(threads.map((thread) => os.getPriority(thread))), `threads of ${pid}`).toEqual(new Set([raised]));
    }

    await first.detachForTest();
    expect(isAlive(before.blue.pid) && isAlive(before.green.pid) && isAlive(plane.pid)).toBe(true);
    // The panel is gone; the data plane still routes by the weights and keeps clients on their slot.
    const whileDown = await many(100, `${proxyUrl}/api/v1/version`);
    expect(whileDown.every((a) => a.status === 200)).toBe(true);
    expect(countBy(whileDown, "blue")).toBeGreaterThan(5);
    expect(countBy(whileDown, "green")).toBeGreaterThan(40);
    const stuck = await Promise.all(
      Array.from({ length: 10 }, () => get(`${proxyUrl}/api/v1/version`, { Cookie: "gl_slot=blue" })),
    );
    expect(stuck.every((a) => a.slot === "blue")).toBe(true);

    const second = newTarget(db);
    await second.start();
    expect(await db.prisma.localDataPlane.findUnique({ where: { id: "local" } })).toEqual(plane);
    expect(await second.proxyUrl(env.id)).toBe(proxyUrl);
    expect(await slotRow(db, env, "blue")).toEqual(before.blue);
    expect(await slotRow(db, env, "green")).toEqual(before.green);
    const observed = await steady(second, env, "green", green.id);
    expect(observed.slots.blue).toMatchObject({ releaseId: blue.id, rollout: "steady" });
    expect(observed.weights).toEqual({ blue: 30, green: 70 });
    // What was served while the panel was down is in the window the adopting panel reads.
    const window = await second.metrics(env, { from: new Date(Date.now() - 60_000), to: new Date() });
    expect(window.slots.blue.requests + window.slots.green.requests).toBeGreaterThanOrEqual(110);
    await second.detachForTest();
  });

  it("starts the data plane again when it died with the panel, restarts a killed slot, and moves the proxy off a port that is taken", async () => {
    const before = { blue: (await slotRow(db, env, "blue"))!, green: (await slotRow(db, env, "green"))! };
    const state = (await db.prisma.localProxyState.findUnique({ where: { environmentId: env.id } }))!;
    const plane = (await db.prisma.localDataPlane.findUnique({ where: { id: "local" } }))!;
    signalProcessGroup(before.blue.pid, "SIGKILL");
    signalProcessGroup(plane.pid, "SIGKILL");
    await waitFor(() => !isAlive(before.blue.pid) && !isAlive(plane.pid), "the blue process and the data plane to die");
    // Take the proxy's port. On a busy machine the freed port can be in use for a moment by another process's
    // connection; the test needs it held by the squatter itself, so it tries until it has it.
    const squatter = net.createServer();
    const squat = () =>
      new Promise<boolean>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) =>
          error.code === "EADDRINUSE" ? resolve(false) : reject(error);
        squatter.once("error", onError);
        squatter.listen(state.port, "127.0.0.1", () => {
          squatter.off("error", onError);
          resolve(true);
        });
      });
    await waitFor(squat, "the squatter to hold the proxy's old port", 30_000);
    try {
      const third = newTarget(db);
      await third.start();
      const planeNow = (await db.prisma.localDataPlane.findUnique({ where: { id: "local" } }))!;
      pids.add(planeNow.pid);
      expect(planeNow.pid).not.toBe(plane.pid);
      const blueNow = (await slotRow(db, env, "blue"))!;
      expect(blueNow).toMatchObject({ releaseId: before.blue.releaseId });
      expect(blueNow.pid).not.toBe(before.blue.pid);
      expect(await slotRow(db, env, "green")).toEqual(before.green);
      const observed = await steady(third, env, "blue", before.blue.releaseId);
      expect(observed.slots.green).toMatchObject({ releaseId: before.green.releaseId, rollout: "steady" });
      expect(observed.weights).toEqual({ blue: 30, green: 70 });
      const proxyUrl = await third.proxyUrl(env.id);
      const port = Number(new URL(proxyUrl).port);
      expect(port).not.toBe(state.port);
      expect(await db.prisma.localProxyState.findUnique({ where: { environmentId: env.id } })).toMatchObject({
        port,
        blueWeight: 30,
        greenWeight: 70,
      });
      expect((await get(`${proxyUrl}/api/v1/version`)).status).toBe(200);

      // The data plane dies under a running panel: it is started again with the environment, on the same port.
      signalProcessGroup(planeNow.pid, "SIGKILL");
      const restarted = await waitFor(async () => {
        const row = await db.prisma.localDataPlane.findUnique({ where: { id: "local" } });
        return row && row.pid !== planeNow.pid && isAlive(row.pid) ? row : null;
      }, "the data plane to be started again");
      pids.add(restarted.pid);
      await waitFor(
        async () => (await get(`${proxyUrl}/api/v1/version`).catch(() => null))?.status === 200,
        "the proxy to serve again on its port",
      );
      expect((await third.observe(env)).weights).toEqual({ blue: 30, green: 70 });

      // stop() stops the processes but keeps the rows: they are the desired state.
      await third.stop();
      await waitFor(
        () => !isAlive(blueNow.pid) && !isAlive(before.green.pid) && !isAlive(restarted.pid),
        "stop() to end the processes",
      );
      expect(await slotRow(db, env, "blue")).toMatchObject({ pid: blueNow.pid });
    } finally {
      squatter.close();
    }
  });
});

/** A logger whose warnings and errors the test can read (pino's JSON lines, parsed). */
function recordingLog(): { log: pino.Logger; lines: { msg: string; pid?: number }[] } {
  const lines: { msg: string; pid?: number }[] = [];
  const log = pino(
    { level: "warn" },
    { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
  );
  return { log, lines };
}

type SlotRecordRow = NonNullable<Awaited<ReturnType<typeof slotRow>>>;

/** A target on a database (and so a data plane) of its own, with a release steady in blue; its warnings are kept. */
async function blueRunning(options: Partial<LocalTargetOptions> = {}) {
  const { db: own, serviceId: ownService } = await openDb();
  const { log, lines } = recordingLog();
  const target = newTarget(own, { log, ...options });
  const env = newEnv();
  const r1 = await newRelease(own, ownService);
  await target.ensureRelease(env, "blue", r1);
  await steady(target, env, "blue", r1.id);
  const first = (await slotRow(own, env, "blue"))!;
  return { own, ownService, target, env, r1, first, lines };
}

/**
 * Runs `call` with the slot process `pid` stopped (SIGSTOP) until the target has found it silent and
 * said it asks again, then lets it run (SIGCONT) and waits for the call.
 */
async function whileSilent(pid: number, lines: { msg: string }[], call: () => Promise<void>): Promise<void> {
  process.kill(pid, "SIGSTOP");
  let calling: Promise<void>;
  try {
    calling = call();
    await waitFor(
      () => lines.some((l) => l.msg === "a recorded slot process does not answer yet; asking again"),
      "the target to find the slot process silent",
      20_000,
    );
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await calling;
}

/** The recorded data plane of a database. */
const dataPlaneOf = async (db: TestDatabase) =>
  (await db.prisma.localDataPlane.findUnique({ where: { id: "local" } }))!;

describe("a data plane that does not answer for a while", () => {
  /**
   * r1 runs in blue; r2 starts there (3 s to listen) and the data plane is stopped (SIGSTOP) until
   * recording and routing r2's process has failed once: a saturated machine (or a panel starved of a
   * CPU) misses the data plane's 2-second answer that way. What the test does meanwhile, then SIGCONT.
   */
  async function commitFailsOnce(
    whileStopped: (context: {
      own: TestDatabase;
      env: EnvironmentRef;
      first: SlotRecordRow;
      started: SlotRecordRow;
    }) => Promise<void> = async () => {},
  ) {
    const { own, ownService, target, env, r1, first, lines } = await blueRunning({ startWaitMs: 100 });
    const plane = await dataPlaneOf(own);

    const r2 = await newRelease(own, ownService, { startupDelayMs: 3000 });
    await target.ensureRelease(env, "blue", r2);
    expect((await target.observe(env)).slots.blue).toMatchObject({ releaseId: r2.id, rollout: "in_progress" });
    process.kill(plane.pid, "SIGSTOP");
    try {
      await waitFor(
        () => lines.some((l) => l.msg.startsWith("could not record and route to a started slot process yet")),
        "routing the started process to fail",
        30_000,
      );
      // The row was written before the route failed: it names r2's process.
      const started = (await slotRow(own, env, "blue"))!;
      expect(started).toMatchObject({ releaseId: r2.id });
      await whileStopped({ own, env, first, started });
    } finally {
      process.kill(plane.pid, "SIGCONT");
    }
    return { own, target, env, r1, r2, first, plane, lines };
  }

  it("is left running, and a slot that started meanwhile is routed to once it answers, its predecessor stopped", async () => {
    const { own, target, env, r2, first, plane, lines } = await commitFailsOnce();
    // Nothing else asks again (the planner waits on what observe says): observe routes it.
    await steady(target, env, "blue", r2.id);
    const proxyUrl = await target.proxyUrl(env.id);
    expect((await get(`${proxyUrl}/api/v1/version`)).json).toMatchObject({ version: r2.version });
    await waitFor(() => !isAlive(first.pid), "the replaced process to be stopped");
    // The data plane kept running: it was slow, not gone.
    expect(await dataPlaneOf(own)).toMatchObject({ pid: plane.pid });
    expect(lines.map((l) => l.msg)).not.toContain("the data plane has answered nothing for too long; replacing it");
    await target.stop();
  });

  it("a slot process that dies before it is routed to fails the slot, and the slot goes back to what ran there", async () => {
    const { own, target, env, r1, first } = await commitFailsOnce(async ({ started }) => {
      process.kill(started.pid, "SIGKILL");
      await waitFor(() => !isAlive(started.pid), "r2's process to die");
    });
    const failed = await observeUntil(target, env, "blue to fail", (o) => o.slots.blue.rollout === "failed");
    expect(failed.slots.blue.detail).toMatch(/^process \d+ was killed by SIGKILL$/);
    expect(await slotRow(own, env, "blue")).toMatchObject({ pid: first.pid, token: first.token, releaseId: r1.id });
    expect(isAlive(first.pid)).toBe(true);
    const proxyUrl = await target.proxyUrl(env.id);
    expect((await get(`${proxyUrl}/api/v1/version`)).json).toMatchObject({ version: r1.version });
    await target.stop();
  });

  it("when another panel recorded a process of its own in the slot meanwhile, only the one started here is stopped", async () => {
    let started: SlotRecordRow | null = null;
    const { own, target, env, first } = await commitFailsOnce(async (context) => {
      started = context.started;
      // What another panel, driving the deployment now, wrote: a process this panel cannot prove is its own.
      await context.own.prisma.localSlotProcess.updateMany({
        where: { environmentId: context.env.id, slot: "blue" },
        data: {
          pid: context.first.pid,
          port: context.first.port,
          releaseId: context.first.releaseId,
          token: "another-panel's-token",
        },
      });
    });
    await target.observe(env).catch(() => null);
    await waitFor(() => !isAlive(started!.pid), "the process started here to be stopped");
    expect(isAlive(first.pid)).toBe(true);
    expect(await slotRow(own, env, "blue")).toMatchObject({ pid: first.pid, token: "another-panel's-token" });
    await target.stop();
    // Not this panel's to stop (it no longer proves it is ours): the test ends it.
    pids.add(first.pid);
  });

  it("a restarted panel keeps asking a recorded slot process that runs but does not answer, and adopts it", async () => {
    const { own, target: first, env, r1: r, first: recorded } = await blueRunning();
    await first.detachForTest();
    // Held up (SIGSTOP) while the next panel starts: a busy machine can make a healthy slot miss its
    // 1-second identity check, and stopping it to start it again would drop its traffic.
    const { log, lines } = recordingLog();
    const second = newTarget(own, { log });
    await whileSilent(recorded.pid, lines, () => second.start());
    expect(await slotRow(own, env, "blue")).toEqual(recorded);
    await steady(second, env, "blue", r.id);
    expect(isAlive(recorded.pid)).toBe(true);
    await second.stop();
  });

  it("a release asked for again, whose recorded process runs but misses a check, keeps that process", async () => {
    const { own, target, env, r1: r, first: recorded, lines } = await blueRunning();
    // A panel taking over a deployment asks for the release its slot already runs; on a busy machine the
    // process can miss the 1-second identity check, and starting another would only add to the load.
    await whileSilent(recorded.pid, lines, () => target.ensureRelease(env, "blue", r));
    expect(await slotRow(own, env, "blue")).toEqual(recorded);
    await steady(target, env, "blue", r.id);
    await target.stop();
  });

  it("is replaced once it has answered nothing for longer than the limit, and serves every environment again", async () => {
    const { own, target, env, r1: r, lines } = await blueRunning({ dataPlaneUnresponsiveLimitMs: 3000 });
    const proxyUrl = await target.proxyUrl(env.id);
    const plane = await dataPlaneOf(own);
    process.kill(plane.pid, "SIGSTOP");
    const replaced = await waitFor(
      async () => {
        const row = await dataPlaneOf(own);
        return row.pid !== plane.pid && isAlive(row.pid) ? row : null;
      },
      "a new data plane",
      30_000,
    );
    pids.add(replaced.pid);
    await waitFor(() => !isAlive(plane.pid), "the stalled data plane to be stopped");
    expect(lines.map((l) => l.msg)).toContain("the data plane has answered nothing for too long; replacing it");
    await waitFor(
      async () => (await get(`${proxyUrl}/api/v1/version`).catch(() => null))?.json.version === r.version,
      "the proxy to serve again on its port",
    );
    await target.stop();
  });
});

/**
 * Starts `command` as an orphan: an intermediate shell starts it in the background and exits at once,
 * so its parent is gone. Its grace period is 1 s. Its pid and the port it prints.
 */
async function startOrphan(command: string[], env: Record<string, string>): Promise<{ pid: number; port: number }> {
  const shell = spawn("sh", ["-c", 'GREENLIGHT_PARENT_PID=$$ "$0" "$@" & echo "pid $!"', ...command], {
    env: {
      PATH: process.env.PATH ?? "",
      PORT: "0",
      GREENLIGHT_ORPHAN_GRACE_SECONDS: "1",
      NODE_ENV: "production",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  shell.stdout.on("data", (chunk) => (out += String(chunk)));
  shell.stderr.resume();
  const pid = Number((await waitFor(() => /pid (\d+)/.exec(out), "the background pid"))[1]);
  pids.add(pid);
  const port = Number((await waitFor(() => /GREENLIGHT_LISTENING (\d+)/.exec(out), "the orphan to listen", 15_000))[1]);
  await waitFor(() => shell.exitCode !== null, "the shell to exit");
  return { pid, port };
}

describe("the data plane's orphan watchdog", () => {
  it("exits once its panel is gone and nobody who knows the token calls within the grace period", async () => {
    const token = "data-plane-watchdog-test-token";
    const command = await dataPlaneCommand();
    // Plain Node on the bundled program (server/targets/local/data-plane/script.ts), not tsx.
    expect(command.slice(1)).toEqual(["--enable-source-maps", expect.stringMatching(/data-plane-[0-9a-f]{16}\.cjs$/)]);
    expect(command[2]!.startsWith(DATA_PLANE_SCRIPT_PREFIX)).toBe(true);
    const { pid, port } = await startOrphan(command, { GREENLIGHT_TOKEN: token });
    // A caller without the token does not keep it alive; one with it does, for as long as it calls.
    expect((await get(`http://127.0.0.1:${port}/state`)).status).toBe(403);
    const askUntil = Date.now() + 1800;
    while (Date.now() < askUntil) {
      expect((await get(`http://127.0.0.1:${port}/state`, { "x-greenlight-token": token })).status).toBe(200);
    }
    expect(isAlive(pid)).toBe(true);
    await waitFor(() => !isAlive(pid), "the orphaned data plane to exit", 5000);
  });
});

describe("the data plane's program", () => {
  it("runs through tsx when its bundle cannot be written", async () => {
    const reasons: string[] = [];
    const command = await dataPlaneCommand(
      () => bundleDataPlane("/dev/null/not-a-directory"),
      (error) => reasons.push(error.message),
    );
    expect(command).toContain(DATA_PLANE_MAIN);
    // The reason is handed on (the supervisor logs it).
    expect(reasons).toEqual([expect.stringContaining("/dev/null/not-a-directory")]);
    const { pid } = await startOrphan(command, { GREENLIGHT_TOKEN: "data-plane-through-tsx-token" });
    await waitFor(() => !isAlive(pid), "the orphaned data plane to exit", 5000);
  });
});

describe("the demo service's orphan watchdog", () => {
  it("exits once its parent is gone and nobody asks for its identity within the grace period", async () => {
    const token = "watchdog-test-token";
    const { pid, port } = await startOrphan([process.execPath, DEMO_SERVICE_PATH], {
      GREENLIGHT_TOKEN: token,
      RELEASE_VERSION: "9.9.9",
      SLOT: "blue",
    });

    // While someone with the token keeps asking who it is, it stays, well past the 1 s grace.
    const askUntil = Date.now() + 1800;
    while (Date.now() < askUntil) {
      const answer = await get(`http://127.0.0.1:${port}/__greenlight/identity`, { "x-greenlight-token": token });
      expect(answer.json).toEqual({ token, version: "9.9.9", slot: "blue", pid });
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(isAlive(pid)).toBe(true);
    // Nobody asks any more: it leaves on its own.
    await waitFor(() => !isAlive(pid), "the orphan to exit", 5000);
  });
});

describe("two panels on one database", () => {
  /** The data plane processes this test process has started (its direct children running the data plane's bundle). */
  function dataPlaneChildren(): number[] {
    return fs
      .readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => {
        try {
          return (
            parentOf(pid) === process.pid &&
            fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(DATA_PLANE_SCRIPT_PREFIX)
          );
        } catch {
          return false;
        }
      });
  }

  it("that start at once end up on one data plane: the second to record stops its own and adopts the first's", async () => {
    const { db } = await openDb();
    const before = new Set(dataPlaneChildren());
    // Starting together is ordinary: neither may warn (a data plane stopped under the other's feet, say).
    const lines: { level: number; msg: string }[] = [];
    const recorded = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const a = newTarget(db, { log: recorded });
    const b = newTarget(db, { log: recorded });
    await Promise.all([a.start(), b.start()]);
    const plane = (await db.prisma.localDataPlane.findUnique({ where: { id: "local" } }))!;
    pids.add(plane.pid);
    await waitFor(
      () => dataPlaneChildren().filter((pid) => !before.has(pid)).length === 1,
      "only one new data plane process to be left running",
      10_000,
    );
    expect(dataPlaneChildren().filter((pid) => !before.has(pid))).toEqual([plane.pid]);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(lines.map((line) => line.msg)).toContain(
      "another panel started the data plane first; adopting it and stopping this one",
    );
    expect(await db.prisma.localProcess.findMany({ where: { environmentId: null } })).toMatchObject([
      { pid: plane.pid, token: plane.token, panel: processIdentity() },
    ]);
    // Both serve an environment set up by either through the same proxy.
    const env = newEnv();
    await a.ensureEnvironment(env.id);
    expect(await b.proxyUrl(env.id)).toBe(await a.proxyUrl(env.id));
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a starting panel reaps what a panel that is gone left unrecorded, never what a running one is still starting", async () => {
    const { db } = await openDb();
    const running = await startOrphan([process.execPath, DEMO_SERVICE_PATH], {
      GREENLIGHT_TOKEN: "started-by-a-running-panel",
      RELEASE_VERSION: "1.0.0",
      SLOT: "blue",
      // Neither leaves on its own while the test looks: only a reap ends one.
      GREENLIGHT_ORPHAN_GRACE_SECONDS: "60",
    });
    const left = await startOrphan([process.execPath, DEMO_SERVICE_PATH], {
      GREENLIGHT_TOKEN: "left-by-a-panel-that-is-gone",
      RELEASE_VERSION: "1.0.0",
      SLOT: "green",
      GREENLIGHT_ORPHAN_GRACE_SECONDS: "60",
    });
    // Its panel was killed after spawning it and before writing its pid down: only the token names it.
    const unnamed = await startOrphan([process.execPath, DEMO_SERVICE_PATH], {
      GREENLIGHT_TOKEN: "spawned-before-its-pid-was-written",
      RELEASE_VERSION: "2.0.0",
      SLOT: "green",
      GREENLIGHT_ORPHAN_GRACE_SECONDS: "60",
    });
    pids.add(running.pid);
    pids.add(left.pid);
    pids.add(unnamed.pid);
    // The running panel: this test's parent. The one that is gone: a process that had this test's pid
    // before it (the pid is the same, the start time is not).
    await db.prisma.localProcess.createMany({
      data: [
        {
          pid: running.pid,
          token: "started-by-a-running-panel",
          environmentId: randomUUID(),
          panel: processIdentity(process.ppid),
        },
        {
          pid: left.pid,
          token: "left-by-a-panel-that-is-gone",
          environmentId: randomUUID(),
          panel: `${process.pid}/1`,
        },
        {
          pid: null,
          token: "spawned-before-its-pid-was-written",
          environmentId: randomUUID(),
          panel: `${process.pid}/1`,
        },
      ],
    });
    const target = newTarget(db);
    await target.start();
    await waitFor(() => !isAlive(left.pid), "the unrecorded process of the panel that is gone to be stopped", 10_000);
    await waitFor(() => !isAlive(unnamed.pid), "the process whose pid was never written to be stopped", 10_000);
    expect(isAlive(running.pid)).toBe(true);
    expect(
      (await db.prisma.localProcess.findMany({ where: { environmentId: { not: null } } })).map((e) => e.pid),
    ).toEqual([running.pid]);
    await target.stop();
  });
});
