/**
 * Durability: the panel runs as a real child process and is killed with SIGKILL during each phase
 * of a deployment (deploying green, smoke testing, mid-bake, mid-rollback), then started again on
 * the same data. The deployment must finish as it should, with no step run twice, no gap in its
 * timeline, an intact audit chain — and the slot processes adopted, never orphaned or duplicated.
 */
import { DATABASE_HEALTH_SMOKE_TEST, DEFAULT_GATES } from "../../server/releases/policy.ts";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../server/releases/policy.ts";
import { signInOverHttp } from "../helpers/panel.ts";
import { ROOT, spawnPanel, type PanelProcess } from "../helpers/process.ts";
import { panelClient, type RouterOutputs } from "../helpers/panel-client.ts";
import { waitFor } from "../helpers/wait.ts";

const marker = `--greenlight-durability=${randomUUID()}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-durability-"));
const env = {
  DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  SERVE_UI: "false",
  LOG_LEVEL: "warn",
  // The demo service, tagged so this test can count its processes.
  LOCAL_TARGET_COMMAND: JSON.stringify([
    process.execPath,
    path.join(ROOT, "server/targets/local/demo-service.mjs"),
    marker,
  ]),
};

let panel: PanelProcess;
let url: string;
let rm: string;
let admin: string;
let serviceId: string;
let environmentId: string;
let hookServer: http.Server;
let hookCalls = 0;
/** The Idempotency-Key of every rollback-hook request, in order of arrival. */
const hookKeys: string[] = [];

const POLICY: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 2,
  gates: { ...DEFAULT_GATES, minRequests: 5 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 600,
  greenReadyTimeoutSeconds: 60,
  smokeTests: [
    DATABASE_HEALTH_SMOKE_TEST,
    // Slow on purpose, so there is a smoke-testing phase to kill the panel in.
    {
      kind: "http",
      name: "Slow endpoint answers",
      method: "GET",
      path: "/slow?ms=2000",
      maxStatus: 399,
      maxLatencyMs: 10_000,
    },
    { kind: "websocket", name: "WebSocket connects", path: "/ws", connectWithinMs: 5000 },
  ],
};

function demoProcesses(): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes(marker))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function start(): Promise<void> {
  panel = spawnPanel(env);
  url = await panel.waitForUrl(90_000);
}

/** Signs in again after a restart (sessions survive: the secret lives in the data directory). */
async function restart(): Promise<void> {
  await start();
}

type Detail = RouterOutputs["deployments"]["get"];
/** The step a timeline event belongs to (its data is JSON). */
const stepOf = (e: Detail["events"][number]) => (e.data as { stepIndex?: number } | null)?.stepIndex;
/** The signed-in users' clients, for the panel now running (a restart moves it to a new port). */
const asRm = () => panelClient(url, rm);
const asAdmin = () => panelClient(url, admin);
const detail = (id: string) => asRm().deployments.get.query({ id });

async function waitForPhase(id: string, matches: (d: Detail) => boolean, what: string): Promise<Detail> {
  return waitFor(
    async () => {
      const d = await detail(id);
      return matches(d) ? d : undefined;
    },
    what,
    60_000,
  );
}

async function finish(id: string): Promise<Detail> {
  return waitForPhase(
    id,
    (d) => ["succeeded", "rolled_back", "failed", "aborted"].includes(d.status),
    "the deployment to finish",
  );
}

async function release(version: string, settings: Record<string, unknown> = {}): Promise<string> {
  return (await asRm().releases.create.mutate({ serviceId, version, artifact: `demo:${version}`, settings })).id;
}

async function deploy(version: string, settings: Record<string, unknown> = {}): Promise<string> {
  return (await asRm().deployments.start.mutate({ releaseId: await release(version, settings), environmentId })).id;
}

function expectSound(d: Detail) {
  // No gap in the timeline.
  expect(d.events.map((e) => e.seq)).toEqual(d.events.map((_, i) => i + 1));
  // No step ran twice.
  const steps = d.events.filter((e) => e.kind === "step").map(stepOf);
  expect(new Set(steps).size).toBe(steps.length);
}

async function killDuring(id: string, matches: (d: Detail) => boolean, phase: string): Promise<void> {
  await waitForPhase(id, matches, phase);
  panel.child.kill("SIGKILL");
  await panel.exited;
  // The slot processes outlive the panel, as a load balancer's targets would: the live slot keeps serving.
  const survivors = demoProcesses();
  expect(survivors.length).toBeGreaterThanOrEqual(1);
  await restart();
  await waitFor(async () => (await fetch(`${url}/health`)).status === 200, "the restarted panel to answer");
  // Recorded processes are adopted, not restarted: at least the live one is the same process.
  expect(survivors.some((pid) => demoProcesses().includes(pid))).toBe(true);
}

/** One process per slot at most, once retiring and unrecorded processes are gone: none orphaned or duplicated. */
async function expectNoStrayProcesses(): Promise<void> {
  await waitFor(() => demoProcesses().length <= 2, "at most one process per slot", 30_000);
}

beforeAll(async () => {
  hookServer = http.createServer((req, res) => {
    hookCalls++;
    hookKeys.push(String(req.headers["idempotency-key"]));
    // A slow rollback hook keeps the deployment in rolling_back long enough to kill the panel there.
    setTimeout(() => res.end("ok"), 3000);
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));

  panel = spawnPanel({ ...env, SEED_DEMO_USERS: "true" });
  url = await panel.waitForUrl(90_000);
  const password = (email: string) => new RegExp(`${email.replace(/[.]/g, "\\.")}\\s+(\\S{4}-\\S{4}-\\S{4}-\\S{4})`);
  rm = (await signInOverHttp(
    url,
    "release-manager@greenlight.local",
    (await panel.waitForOutput(password("release-manager@greenlight.local")))[1]!,
  ))!;
  admin = (await signInOverHttp(
    url,
    "admin@greenlight.local",
    (await panel.waitForOutput(password("admin@greenlight.local")))[1]!,
  ))!;
  serviceId = (await asRm().services.create.mutate({ name: "Durable", environments: ["development"] })).id;
  environmentId = (await asRm().services.get.query({ id: serviceId })).environments[0]!.id;
  await asRm().environments.updatePolicy.mutate({ environmentId, policy: POLICY });
  await asRm().environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 40 });
  const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/rollback`;
  await asAdmin().environments.setRollbackHooks.mutate({
    environmentId,
    hooks: [{ kind: "webhook", name: "Slow hook", url: hookUrl, timeoutMs: 10_000 }],
  });
  const first = await deploy("1.0.0");
  expect((await finish(first)).status).toBe("succeeded");
}, 180_000);

afterAll(async () => {
  if (panel) await panel.kill("SIGTERM");
  hookServer?.close();
  // Stopping the panel stops its slot processes: nothing is left behind.
  const leftovers = demoProcesses();
  for (const pid of leftovers) process.kill(pid, "SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
  expect(leftovers).toEqual([]);
});

describe("SIGKILL of the panel", () => {
  it("while deploying green, again while smoke testing, and again mid-bake: the deployment carries on and succeeds, each step once", async () => {
    const id = await deploy("2.0.0", { startupDelayMs: 3000 });
    await killDuring(id, (d) => d.status === "deploying_green", "deploying green");
    await killDuring(id, (d) => d.status === "smoke_testing", "smoke testing");
    await killDuring(
      id,
      (d) => d.status === "shifting" && d.stepIndex === 1 && d.stepReachedAt !== null,
      "the bake of step 2",
    );
    const d = await finish(id);
    expect(d.status).toBe("succeeded");
    expectSound(d);
    expect(d.events.filter((e) => e.kind === "step").map(stepOf)).toEqual([0, 1, 2]);
    await expectNoStrayProcesses();
  }, 240_000);

  it("mid-rollback: traffic ends on the live slot and the deployment is rolled back", async () => {
    const id = await deploy("3.0.0");
    const baking = await waitForPhase(id, (d) => d.status === "shifting" && d.stepReachedAt !== null, "the first bake");
    void baking;
    await asRm().deployments.rollback.mutate({ deploymentId: id, reason: "durability test" });
    const calls = hookCalls;
    await killDuring(id, (d) => d.status === "rolling_back" && hookCalls > calls, "the rollback hook");
    const d = await finish(id);
    expect(d.status).toBe("rolled_back");
    expectSound(d);
    expect(d.events.filter((e) => e.kind === "traffic_restored")).toHaveLength(1);
    // The hook ran before the kill and again after it (at least once), with one key both times, and
    // each attempt is on the timeline (recorded before it was sent), then one outcome.
    const keys = hookKeys.slice(calls);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys)).toEqual(new Set([`${id}/Slow hook`]));
    const attempts = d.events
      .filter((e) => e.kind === "hook_attempt")
      .map((e) => (e.data as { attempt?: number } | null)?.attempt);
    expect(attempts).toEqual(keys.map((_, i) => i + 1));
    expect(d.events.filter((e) => e.kind === "hook")).toHaveLength(1);
    await expectNoStrayProcesses();
  }, 120_000);

  it("leaves an audit chain that verifies", async () => {
    const verification = await asAdmin().audit.verify.query();
    expect(verification.ok).toBe(true);
  });
});
