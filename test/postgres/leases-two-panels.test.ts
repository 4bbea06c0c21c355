/**
 * Two panels, as separate processes, on one PostgreSQL database, with 20 environments on the local
 * target (real slot processes, real proxies, real traffic). Twenty first releases are deployed:
 * both panels drive a fair share of them at once. Twenty more are started; one panel is killed
 * with SIGKILL while both are driving, and the other finishes every deployment, with no step
 * recorded twice and no gap in any timeline.
 */
import { DEFAULT_GATES } from "../../server/releases/policy.ts";
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../server/releases/policy.ts";
import { createPostgresDatabase, dropPostgresDatabase } from "../helpers/database.ts";
import { logMachine, type MachineLog } from "../helpers/machine-log.ts";
import { signInOverHttp } from "../helpers/panel.ts";
import { ROOT, spawnPanel, type PanelProcess } from "../helpers/process.ts";
import { panelClient, type PanelClient } from "../helpers/panel-client.ts";
import { waitFor } from "../helpers/wait.ts";

const ENVIRONMENTS = 20;
const marker = `--greenlight-leases=${randomUUID()}`;
/**
 * The default gates: both panels share one data plane (the local target's proxies run in a process
 * of their own, adopted by whichever panel comes first), so a takeover keeps the traffic figures.
 */
const POLICY: Policy = {
  steps: [50, 100],
  bakeSeconds: 1,
  gates: { ...DEFAULT_GATES, minRequests: 3 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 3600,
  greenReadyTimeoutSeconds: 120,
  smokeTests: [],
};

let databaseUrl: string;
let dataDir: string;
let db: pg.Client;
let a: PanelProcess;
let b: PanelProcess;
let urlA: string;
let urlB: string;
/** The release manager, signed in once, calling panel A and panel B. */
let rmA: PanelClient;
let rmB: PanelClient;
const services: { id: string; environmentId: string }[] = [];
/** Printed with a failure: a release rolled back here, on a busy host, names what the host did meanwhile. */
let machine: MachineLog;

function markedProcesses(): number[] {
  return execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(marker))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** Active deployments per lease owner (instance id → count). */
async function leaseOwners(): Promise<Map<string, number>> {
  const { rows } = await db.query<{ owner: string; n: number }>(
    `SELECT "leaseOwner" AS owner, count(*)::int AS n FROM "Deployment" WHERE "activeEnvironmentId" IS NOT NULL AND "leaseOwner" IS NOT NULL GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.owner, r.n]));
}

const instanceOf = (panel: PanelProcess) => (owner: string) => owner.split("#")[1] === String(panel.child.pid);

async function deployAll(version: string, via: PanelClient): Promise<string[]> {
  const ids: string[] = [];
  for (const s of services) {
    const release = await via.releases.create.mutate({ serviceId: s.id, version, artifact: `demo:${version}` });
    ids.push((await via.deployments.start.mutate({ releaseId: release.id, environmentId: s.environmentId })).id);
  }
  return ids;
}

/** Until every deployment has finished; samples who holds which lease meanwhile. */
async function finishAll(
  ids: string[],
  onSample?: (owners: { id: string; owner: string }[]) => void,
): Promise<string[]> {
  return waitFor(
    async () => {
      const { rows } = await db.query<{ id: string; status: string; owner: string | null; reason: string | null }>(
        `SELECT id, status::text, "leaseOwner" AS owner, coalesce("failureReason", "rollbackReason"::text) AS reason FROM "Deployment" WHERE id = ANY($1)`,
        [ids],
      );
      onSample?.(rows.filter((r) => r.owner !== null).map((r) => ({ id: r.id, owner: r.owner! })));
      return rows.every((r) => ["succeeded", "rolled_back", "failed", "aborted"].includes(r.status))
        ? rows.map((r) => `${r.status}${r.reason ? `: ${r.reason}` : ""}`)
        : undefined;
    },
    "every deployment to finish",
    240_000,
    250,
  );
}

/** No gap in any timeline, and no traffic step recorded twice. */
async function expectSound(ids: string[], steps: number): Promise<void> {
  const { rows } = await db.query<{ deploymentId: string; seq: number; kind: string; stepIndex: number | null }>(
    `SELECT "deploymentId", seq, kind, (data->>'stepIndex')::int AS "stepIndex" FROM "DeploymentEvent" WHERE "deploymentId" = ANY($1) ORDER BY "deploymentId", seq`,
    [ids],
  );
  for (const id of ids) {
    const events = rows.filter((r) => r.deploymentId === id);
    expect(
      events.map((e) => e.seq),
      `timeline of ${id}`,
    ).toEqual(events.map((_, i) => i + 1));
    const stepIndexes = events.filter((e) => e.kind === "step").map((e) => e.stepIndex);
    expect(stepIndexes, `steps of ${id}`).toEqual(Array.from({ length: steps }, (_, i) => i));
  }
}

beforeAll(async () => {
  machine = logMachine();
  databaseUrl = await createPostgresDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-two-panels-"));
  db = new pg.Client({ connectionString: databaseUrl });
  const shared = {
    DATABASE_URL: databaseUrl,
    // One data directory for both, as two instances of one deployment share their settings.
    DATA_DIR: dataDir,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    SERVE_UI: "false",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    LOCAL_TARGET_COMMAND: JSON.stringify([
      process.execPath,
      path.join(ROOT, "server/targets/local/demo-service.mjs"),
      marker,
    ]),
  };
  a = spawnPanel({ ...shared, SEED_DEMO_USERS: "true" });
  urlA = await a.waitForUrl(90_000);
  await db.connect();
  const password = (await a.waitForOutput(/release-manager@greenlight\.local\s+(\S{4}-\S{4}-\S{4}-\S{4})/))[1]!;
  const rm = (await signInOverHttp(urlA, "release-manager@greenlight.local", password))!;
  rmA = panelClient(urlA, rm);

  for (let i = 0; i < ENVIRONMENTS; i++) {
    const service = await rmA.services.create.mutate({ name: `Leases ${i}`, environments: ["staging"] });
    const environmentId = (
      await db.query<{ id: string }>(`SELECT id FROM "Environment" WHERE "serviceId" = $1`, [service.id])
    ).rows[0]!.id;
    services.push({ id: service.id, environmentId });
    await rmA.environments.updatePolicy.mutate({ environmentId, policy: POLICY });
    // Only the gates judge here: an alert on a panel's proxy that routes nowhere yet is noise.
    await rmA.environments.updateAlertThresholds.mutate({
      environmentId,
      thresholds: { errorRatePercent: 100, p95Ms: 600_000 },
    });
    await rmA.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 10 });
  }
  // B starts once the environments exist, so it brings up their proxies and traffic as A did.
  b = spawnPanel(shared);
  urlB = await b.waitForUrl(90_000);
  rmB = panelClient(urlB, rm);
}, 300_000);

afterAll(async () => {
  machine?.stop();
  await Promise.all([a?.kill("SIGKILL"), b?.kill()]);
  // Slot processes the killed panel left behind (an orphan waits for adoption for minutes).
  for (const pid of markedProcesses()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await db?.end();
  if (databaseUrl) await dropPostgresDatabase(databaseUrl);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("two panels on one PostgreSQL database", () => {
  it("share the deployments: both drive their fair share at once", async () => {
    // Bakes long enough that the twenty run together however slowly they are started (see the next test).
    for (const s of services)
      await rmA.environments.updatePolicy.mutate({
        environmentId: s.environmentId,
        policy: { ...POLICY, bakeSeconds: 8 },
      });
    const ids = await deployAll("1.0.0", rmA);
    const drivenBy = { a: new Set<string>(), b: new Set<string>() };
    let most = 0;
    const finished = await finishAll(ids, (held) => {
      for (const { id, owner } of held) (instanceOf(a)(owner) ? drivenBy.a : drivenBy.b).add(id);
      most = Math.max(
        most,
        held.filter((h) => instanceOf(a)(h.owner)).length,
        held.filter((h) => instanceOf(b)(h.owner)).length,
      );
    });
    expect(finished, machine.report()).toEqual(ids.map(() => "succeeded"));
    // Both drove a good part of them (all twenty were started through A), and neither ever held more than half.
    expect(drivenBy.a.size).toBeGreaterThanOrEqual(5);
    expect(drivenBy.b.size).toBeGreaterThanOrEqual(5);
    expect(most).toBeLessThanOrEqual(ENVIRONMENTS / 2);
    await expectSound(ids, 1);
  }, 300_000);

  it("when one is killed with SIGKILL, the other finishes every deployment, no step doubled", async () => {
    // Bakes long enough that the twenty are in flight together however slowly they are started on a busy
    // machine (with 1 s bakes the first ones finished before the last had begun, and the moment to kill never came).
    for (const s of services)
      await rmB.environments.updatePolicy.mutate({
        environmentId: s.environmentId,
        policy: { ...POLICY, bakeSeconds: 8 },
      });
    const ids = await deployAll("1.1.0", rmB);
    // Kill A while it drives some of them (a fair share each), mid-way.
    const heldByA = await waitFor(
      async () => {
        const owners = await leaseOwners();
        const ofA = [...owners].filter(([owner]) => instanceOf(a)(owner)).reduce((n, [, c]) => n + c, 0);
        const ofB = [...owners].filter(([owner]) => instanceOf(b)(owner)).reduce((n, [, c]) => n + c, 0);
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "Deployment" WHERE id = ANY($1) AND status IN ('smoke_testing', 'shifting', 'validating')`,
          [ids],
        );
        return ofA >= 5 && ofB >= 5 && rows[0]!.n >= 5 ? ofA : undefined;
      },
      "both panels to be driving the second wave",
      120_000,
      100,
    );
    expect(heldByA).toBeGreaterThanOrEqual(5);
    const { rows: takenOver } = await db.query<{ id: string; environmentId: string }>(
      `SELECT id, "environmentId" FROM "Deployment" WHERE id = ANY($1) AND "activeEnvironmentId" IS NOT NULL AND split_part("leaseOwner", '#', 2) = $2`,
      [ids, String(a.child.pid)],
    );
    const plane = await db.query<{ pid: number }>(`SELECT pid FROM "LocalDataPlane"`);
    await a.kill("SIGKILL");

    const finished = await finishAll(ids);
    expect(finished, machine.report()).toEqual(ids.map(() => "succeeded"));
    await expectSound(ids, 2);
    // What A was driving, B finished, through processes A had started: B's proxy serves the new release.
    expect(takenOver.length).toBeGreaterThan(0);
    for (const { environmentId } of takenOver) {
      const service = services.find((s) => s.environmentId === environmentId)!;
      const detail = await rmB.services.get.query({ id: service.id });
      const endpoint = detail.environments.find((e) => e.id === environmentId)!.endpoint!;
      const answer = await fetch(`${endpoint}/api/v1/version`);
      expect(answer.status, `${endpoint} of ${environmentId}`).toBe(200);
      expect(await answer.json()).toMatchObject({ version: "1.1.0" });
    }
    // The data plane A started served on throughout: B adopted it and, however busy the machine, never replaced
    // it (that restarted every environment's proxy and figures at once, and a good release was judged on them).
    expect((await db.query<{ pid: number }>(`SELECT pid FROM "LocalDataPlane"`)).rows).toEqual(plane.rows);
    // B took over what A held (every deployment finished, and only B holds leases now).
    expect([...(await leaseOwners()).keys()].every(instanceOf(b))).toBe(true);
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM "ReconcilerInstance"`);
    expect(rows.map((r) => r.id).every(instanceOf(b))).toBe(true);
    // B's /metrics carries the reconciler's figures.
    const metrics = await (await fetch(`${urlB}/metrics`)).text();
    expect(metrics).toMatch(/^greenlight_reconciler_pass_duration_seconds_count\{outcome="ok"\} [1-9]\d*$/m);
  }, 300_000);
});
