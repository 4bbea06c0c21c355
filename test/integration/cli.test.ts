/**
 * The greenlight CLI as CI runs it: a real child process (the package.json `bin` entry), reading
 * GREENLIGHT_URL and GREENLIGHT_TOKEN, against a real panel on the local target with its real
 * reconciler, child processes and proxy. Exit statuses: 0 live, 2 rolled back (naming the failed
 * gate and its values), 3 refused by governance (saying why), 1 anything else.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { createApiToken, setUpService } from "../helpers/pipeline.ts";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(
  ROOT,
  (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> }).bin
    .greenlight!,
);

let t: TestPanel;
let rm: TestUser;
let token: string;

const running = new Set<ChildProcess>();

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function greenlight(
  args: string[],
  env: Record<string, string | undefined> = { GREENLIGHT_URL: t.url, GREENLIGHT_TOKEN: token },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { NODE_ENV: "production", PATH: process.env.PATH, HOME: process.env.HOME, ...env },
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

beforeAll(async () => {
  t = await startTestPanel();
  rm = await t.createUser(["release_manager"], "Rel Manager");
  const { serviceId } = await setUpService(t, rm, { name: "Checkout", slug: "checkout" });
  token = (await createApiToken(rm, serviceId, "GitHub Actions")).token;
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await t?.close();
});

const WAIT = ["--wait", "--poll", "200ms", "--timeout", "2m"];

describe("greenlight", () => {
  it("creates a release with its commit and commit time", async () => {
    const run = await greenlight([
      "release",
      "create",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--artifact",
      "demo:1.4.2",
      "--commit",
      "0123456789abcdef",
      "--commit-time",
      "2026-11-30T14:05:00Z",
    ]);
    expect(run.stderr).toBe("");
    expect(run).toMatchObject({
      code: 0,
      stdout: "Created release 1.4.2 of checkout (demo:1.4.2) at commit 0123456789ab\n",
    });
    expect(await t.prisma.release.findFirstOrThrow({ where: { version: "1.4.2" } })).toMatchObject({
      commitSha: "0123456789abcdef",
      commitAt: new Date("2026-11-30T14:05:00Z"),
    });
  });

  it("deploys with --wait, printing each step as it happens, and exits 0 once live", async () => {
    const run = await greenlight([
      "deploy",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--env",
      "development",
      ...WAIT,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^Started deployment [0-9a-f-]{36}: checkout 1.4.2 → development$/);
    // The timeline, in order, each event once, as the panel recorded it.
    const events = lines.filter((line) => /^\d\d:\d\d:\d\d {2}/.test(line));
    expect(events[0]).toMatch(/token:GitHub Actions started 1.4.2 in development/);
    expect(new Set(events).size).toBe(events.length);
    expect(events.length).toBeGreaterThan(3);
    expect(lines.at(-1)).toMatch(/^Succeeded: 1.4.2 is live in development \(\d+s\)$/);
  });

  it("exits 2 when the release is rolled back, printing the failed gate and its values", async () => {
    const created = await greenlight([
      "release",
      "create",
      "--service",
      "checkout",
      "--version",
      "1.5.0-bad",
      "--artifact",
      "demo:1.5.0",
      "--settings",
      '{"failureRate":0.3}',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const run = await greenlight([
      "deploy",
      "--service",
      "checkout",
      "--version",
      "1.5.0-bad",
      "--env",
      "development",
      ...WAIT,
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    const d = await t.prisma.deployment.findFirstOrThrow({ where: { release: { version: "1.5.0-bad" } } });
    const reason = d.rollbackReason as { gate: string; observed: number; threshold: number };
    expect(run.stderr).toMatch(/^Rolled back: 1.5.0-bad did not go live in development/m);
    // Every field of the reason and of the failed gates, whatever fields the engine gives them.
    const why = /^Why:\n((?: {2}.*\n)+)/m.exec(run.stderr)?.[1]?.split("\n") ?? [];
    expect(why).toEqual(
      expect.arrayContaining([
        "  reason: gate",
        `  gate: ${reason.gate}`,
        `  observed: ${Number(reason.observed.toPrecision(5))}`,
        `  threshold: ${reason.threshold}`,
      ]),
    );
    const gate =
      new RegExp(`^Failed gate ${reason.gate} at \\d+% traffic:\\n((?: {2}.*\\n)+)`, "m")
        .exec(run.stderr)?.[1]
        ?.split("\n") ?? [];
    expect(gate).toEqual(
      expect.arrayContaining([
        "  outcome: fail",
        `  threshold: ${reason.threshold}`,
        expect.stringMatching(/^ {2}detail: .+/),
      ]),
    );
    expect(run.stdout).toMatch(/traffic/i);
  });

  it("exits 3 when governance refuses the deployment, saying why", async () => {
    const staging = await greenlight([
      "deploy",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--env",
      "staging",
      ...WAIT,
    ]);
    expect(staging.code, staging.stderr).toBe(0);
    const run = await greenlight([
      "deploy",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--env",
      "production",
      "--wait",
    ]);
    expect(run).toMatchObject({
      code: 3,
      stdout: "",
      stderr:
        "Refused by governance: A production deployment needs an approved change request; there is none for release 1.4.2 in production\n",
    });
  });

  it("posts evidence and reports status", async () => {
    const evidence = await greenlight([
      "evidence",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--item",
      "tests_passing",
      "--status",
      "passed",
      "--url",
      "https://ci.example.com/run/7",
    ]);
    expect(evidence).toMatchObject({ code: 0, stdout: "Evidence tests_passing: passed for 1.4.2 in production\n" });
    const status = await greenlight(["status", "--service", "checkout"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("  development: 1.4.2\n");
    expect(status.stdout).toContain("  staging: 1.4.2\n");
    expect(status.stdout).toContain("  production (production): nothing live\n");
    const bad = await greenlight(["status", "--service", "checkout", "--version", "1.5.0-bad", "--env", "development"]);
    expect(bad.code).toBe(0);
    expect(bad.stdout).toMatch(/verdict: rolled back/);
    expect(bad.stdout).toMatch(/^Why:\n(?: {2}.*\n)* {2}reason: gate\n/m);
    const json = await greenlight(["status", "--service", "checkout", "--version", "1.4.2", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      version: "1.4.2",
      deployments: [
        expect.objectContaining({ environment: "staging", verdict: "succeeded" }),
        expect.objectContaining({ environment: "development", verdict: "succeeded" }),
      ],
    });
  });

  it("exits 1 on any other error, saying what was wrong", async () => {
    const again = await greenlight([
      "release",
      "create",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--artifact",
      "demo:1.4.2",
    ]);
    expect(again).toMatchObject({
      code: 1,
      stderr: "Error (HTTP 409): Checkout already has a release with the version 1.4.2\n",
    });
    const revokedLike = await greenlight(["status", "--service", "checkout"], {
      GREENLIGHT_URL: t.url,
      GREENLIGHT_TOKEN: "glt_not-a-token",
    });
    expect(revokedLike).toMatchObject({ code: 1, stderr: "Error (HTTP 401): the API token is not valid\n" });
    const noUrl = await greenlight(["status", "--service", "checkout"], { GREENLIGHT_TOKEN: token });
    expect(noUrl).toMatchObject({
      code: 1,
      stderr: "Error: GREENLIGHT_URL is not set: the panel's address, e.g. https://greenlight.example.com\n",
    });
    const usage = await greenlight([
      "deploy",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--env",
      "staging",
      "--timeout",
      "soon",
    ]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("must be a duration such as 30m, 90s, 1h or 500ms");
    const already = await greenlight([
      "deploy",
      "--service",
      "checkout",
      "--version",
      "1.4.2",
      "--env",
      "development",
      "--wait",
    ]);
    expect(already).toMatchObject({
      code: 1,
      stderr: "Could not start: Release 1.4.2 is already live in development\n",
    });
    const help = await greenlight(["--help"], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Reads GREENLIGHT_URL and GREENLIGHT_TOKEN.");
  });
});
