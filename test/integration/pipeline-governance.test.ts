/**
 * A token cannot do what a person may not: over the pipeline API and through the CLI, a production
 * start is refused while the checklist is incomplete and outside a maintenance window for a major
 * change, with the same messages as in the panel, and nothing starts. A broken target configuration
 * is not governance: it is a 409, and the CLI says it could not start (exit 1, not 3).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_GATES, type Policy } from "../../server/releases/policy.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { waitFor } from "../helpers/wait.ts";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(
  ROOT,
  (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> }).bin
    .greenlight!,
);

const FAST: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 1,
  gates: { ...DEFAULT_GATES, minRequests: 5 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 1,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [],
};

let t: TestPanel;
let rm: TestUser;
let approver: TestUser;
let admin: TestUser;
let token: string;
let envs: Record<string, string>;
let releaseId: string;
const running = new Set<ChildProcess>();

async function api(
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${t.url}${urlPath}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function greenlight(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: {
        NODE_ENV: "production",
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        GREENLIGHT_URL: t.url,
        GREENLIGHT_TOKEN: token,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    child.on("close", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

const productionDeployments = () => t.prisma.deployment.count({ where: { environmentId: envs.production } });

beforeAll(async () => {
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"], "Rel Manager");
  approver = await t.createUser(["approver"], "Ann Approver");
  admin = await t.createUser(["admin"], "Ada Admin");
  const service = await rm.client.services.create.mutate({
    name: "Ledger",
    slug: "ledger",
    environments: ["development", "staging", "production"],
  });
  const detail = await rm.client.services.get.query({ id: service.id });
  envs = Object.fromEntries(detail.environments.map((e) => [e.name, e.id]));
  for (const environmentId of Object.values(envs)) {
    await rm.client.environments.updatePolicy.mutate({ environmentId, policy: FAST });
    await rm.client.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 60 });
  }
  token = (
    await rm.client.tokens.create.mutate({
      serviceId: service.id,
      name: "CI",
      scopes: ["releases:write", "deployments:write", "evidence:write", "read"],
      expiresInDays: 30,
    })
  ).token;

  // 2.0.0 through staging, and an approved major change for production: only the checklist and the window are left.
  releaseId = (await api("POST", "/api/v1/services/ledger/releases", { version: "2.0.0", artifact: "demo:2.0.0" })).body
    .id as string;
  for (const environment of ["development", "staging"]) {
    const started = await api("POST", "/api/v1/services/ledger/deployments", { version: "2.0.0", environment });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await waitFor(
      async () => (await api("GET", `/api/v1/deployments/${started.body.id as string}`)).body.verdict === "succeeded",
      `${environment} to succeed`,
      90_000,
    );
  }
  const change = await rm.client.changes.create.mutate({
    releaseId,
    environmentId: envs.production!,
    type: "major",
    title: "Ledger 2.0",
    performanceAssessment: "p95 +2 ms under load test",
  });
  await approver.client.changes.approve.mutate({ id: change.id });
}, 180_000);

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await t?.close();
});

describe("a token deploying to production", () => {
  it("is refused while the checklist is incomplete (412 through the API, exit 3 from the CLI), and nothing starts", async () => {
    const items = await rm.client.checklist.get.query({ releaseId, environmentId: envs.production! });
    expect(items.some((item) => item.required && !item.done)).toBe(true);
    const refused = await api("POST", "/api/v1/services/ledger/deployments", {
      version: "2.0.0",
      environment: "production",
    });
    expect(refused.status).toBe(412);
    expect(refused.body.error).toMatch(/^Required checklist items are not complete: /);
    expect(refused.body.field).toBe("checklist");
    const cli = await greenlight([
      "deploy",
      "--service",
      "ledger",
      "--version",
      "2.0.0",
      "--env",
      "production",
      "--wait",
      "--poll",
      "200ms",
      "--timeout",
      "1m",
    ]);
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toContain("Refused by governance: Required checklist items are not complete: ");
    expect(await productionDeployments()).toBe(0);
  });

  it("is refused outside a maintenance window for a major change once the checklist is complete, naming the next window", async () => {
    for (const item of await rm.client.checklist.get.query({ releaseId, environmentId: envs.production! })) {
      if (item.kind === "manual")
        await rm.client.checklist.tick.mutate({
          releaseId,
          environmentId: envs.production!,
          key: item.key,
          done: true,
          note: "checked",
        });
      else
        expect(
          (
            await api("POST", `/api/v1/releases/${releaseId}/evidence`, {
              item: item.key,
              status: "passed",
              url: "https://ci.example.com/run/1",
            })
          ).status,
        ).toBe(200);
    }
    // Whatever the wall clock says, no window is open: the global rules are paused and Ledger's own opens in six hours.
    for (const rule of await admin.client.maintenance.rules.query()) {
      const { id, name, timezone, rrule, startTime, durationMinutes, serviceId } = rule;
      await admin.client.maintenance.updateRule.mutate({
        id,
        rule: { name, timezone, rrule, startTime, durationMinutes, serviceId },
        active: false,
      });
    }
    const opens = new Date(Date.now() + 6 * 3_600_000);
    const startTime = `${String(opens.getUTCHours()).padStart(2, "0")}:${String(opens.getUTCMinutes()).padStart(2, "0")}`;
    const service = await t.prisma.service.findUniqueOrThrow({ where: { slug: "ledger" } });
    await admin.client.maintenance.createRule.mutate({
      name: "Ledger daily",
      timezone: "UTC",
      rrule: "FREQ=DAILY",
      startTime,
      durationMinutes: 30,
      serviceId: service.id,
    });

    const refused = await api("POST", "/api/v1/services/ledger/deployments", {
      version: "2.0.0",
      environment: "production",
      timeZone: "UTC",
    });
    expect(refused.status).toBe(412);
    expect(refused.body.error).toMatch(
      /^Major changes in production may start only inside a maintenance window; the next is /,
    );
    expect(refused.body.field).toBe("type");
    const cli = await greenlight(["deploy", "--service", "ledger", "--version", "2.0.0", "--env", "production"]);
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toContain(
      "Refused by governance: Major changes in production may start only inside a maintenance window",
    );
    expect(await productionDeployments()).toBe(0);
  });

  it("is refused under an authorised emergency too, while a person may start the same release under it", async () => {
    const cto = await t.createUser(["cto"], "Cee Tee");
    const service = await t.prisma.service.findUniqueOrThrow({ where: { slug: "ledger" } });
    const { id } = await rm.client.maintenance.requestEmergency.mutate({
      reason: "Ledger double-booking",
      impact: "Wrong balances",
      plannedActions: "Ship 2.0.0",
      serviceId: service.id,
    });
    await cto.client.maintenance.authorizeEmergency.mutate({ id, note: "Go" });
    try {
      const refused = await api("POST", "/api/v1/services/ledger/deployments", {
        version: "2.0.0",
        environment: "production",
        timeZone: "UTC",
      });
      expect(refused.status).toBe(412);
      expect(refused.body.error).toMatch(/^Major changes in production may start only inside a maintenance window/);
      expect(await productionDeployments()).toBe(0);
      const started = await rm.client.deployments.start.mutate({ releaseId, environmentId: envs.production! });
      expect((await t.prisma.deployment.findUniqueOrThrow({ where: { id: started.id } })).emergency).toBe(true);
      await rm.client.deployments.abort.mutate({ deploymentId: started.id });
    } finally {
      await cto.client.maintenance.closeEmergency.mutate({ id });
    }
  });
});

describe("an environment whose target configuration is broken", () => {
  it("answers 409 naming it, and the CLI says it could not start (exit 1), not that governance refused", async () => {
    const before = await t.prisma.deployment.count({ where: { environmentId: envs.development } });
    await t.prisma.environment.update({
      where: { id: envs.development },
      data: { target: "ecs", targetConfig: { region: "eu-west-1" } },
    });
    const refused = await api("POST", "/api/v1/services/ledger/deployments", {
      version: "2.0.0",
      environment: "development",
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/^The development target configuration is invalid: /);
    expect(refused.body.field).toBe("environment");
    const cli = await greenlight(["deploy", "--service", "ledger", "--version", "2.0.0", "--env", "development"]);
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stderr).toContain("Could not start: The development target configuration is invalid");
    expect(await t.prisma.deployment.count({ where: { environmentId: envs.development } })).toBe(before);
  });
});
