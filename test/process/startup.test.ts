import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { spawnPanel } from "../helpers/process.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-start-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

// Independent processes: they run side by side.
describe.concurrent("a bad configuration stops start-up with one line naming the variable", () => {
  it.for<[Record<string, string>, RegExp]>([
    [{ PORT: "abc" }, /^Configuration error: PORT must be an integer between 0 and 65535 \(got "abc"\)$/],
    [{ PORT: "70000" }, /^Configuration error: PORT must be an integer between 0 and 65535 \(got "70000"\)$/],
    [
      { DATABASE_URL: "mysql://root@localhost/app", NEXTAUTH_SECRET: "x".repeat(40) },
      /^Configuration error: DATABASE_URL must be a URL of the form postgresql:\/\/.*\(got "mysql:\/\/root@localhost\/app"\)$/,
    ],
    [
      { DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/test" },
      /^Configuration error: NEXTAUTH_SECRET must be set when DATABASE_URL is set/,
    ],
    [
      { SESSION_MAX_AGE: "soon" },
      /^Configuration error: SESSION_MAX_AGE must be a number of seconds or a duration such as 8h/,
    ],
    [{ OIDC_ISSUER: "https://id.example.com" }, /^Configuration error: OIDC_CLIENT_ID must be set too/],
    [{ REDIS_URL: "localhost:6379" }, /^Configuration error: REDIS_URL must be a URL of the form redis:\/\/host:6379/],
  ])("%o", async ([env, message], { expect }) => {
    const panel = spawnPanel({ DATA_DIR: tempDir(), SERVE_UI: "false", ...env });
    expect(await panel.exited).toBe(1);
    const lines = panel.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});

describe("the embedded default", () => {
  const dataDir = tempDir();

  it("starts on an empty data directory, prints its URL and one demo sign-in per role, and stops on SIGTERM", async () => {
    const panel = spawnPanel({ DATA_DIR: dataDir, PORT: "0", SERVE_UI: "false" });
    const url = await panel.waitForUrl();
    const banner = panel.stdout();
    const credentials = [...banner.matchAll(/(\S+@greenlight\.local)\s+(\S{4}-\S{4}-\S{4}-\S{4})/g)];
    expect(credentials.map((m) => m[1]).sort()).toEqual(
      [
        "admin",
        "approver",
        "auditor",
        "business-stakeholder",
        "cto",
        "oncall",
        "release-manager",
        "security-reviewer",
        "viewer",
      ]
        .map((r) => `${r}@greenlight.local`)
        .sort(),
    );
    expect(new Set(credentials.map((m) => m[2])).size).toBe(9);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(fs.existsSync(path.join(dataDir, "nextauth-secret"))).toBe(true);
    expect(fs.statSync(path.join(dataDir, "nextauth-secret")).mode & 0o077).toBe(0);
    expect(await panel.kill("SIGTERM")).toBe(0);
    expect(fs.existsSync(path.join(dataDir, "pglite.lock"))).toBe(false);
  });

  it("on the next start keeps its data and secret and prints no passwords", async () => {
    const secret = fs.readFileSync(path.join(dataDir, "nextauth-secret"), "utf8");
    const panel = spawnPanel({ DATA_DIR: dataDir, PORT: "0", SERVE_UI: "false" });
    await panel.waitForUrl();
    expect(panel.stdout()).not.toMatch(/Demo sign-ins/);
    expect(fs.readFileSync(path.join(dataDir, "nextauth-secret"), "utf8")).toBe(secret);
    expect(await panel.kill("SIGTERM")).toBe(0);
  });

  it("refuses to start on a data directory another panel is using", async () => {
    const first = spawnPanel({ DATA_DIR: dataDir, PORT: "0", SERVE_UI: "false" });
    await first.waitForUrl();
    const second = spawnPanel({ DATA_DIR: dataDir, PORT: "0", SERVE_UI: "false" });
    expect(await second.exited).toBe(1);
    expect(second.stderr().trim()).toMatch(/is in use by another Greenlight process \(pid \d+\)/);
    expect(await first.kill("SIGTERM")).toBe(0);
  });

  it("stops with a clear error naming a migration that was edited after it was applied", async () => {
    const pglite = new PGlite(path.join(dataDir, "pglite"));
    const [row] = (
      await pglite.query<{ migration_name: string }>(
        `SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name LIMIT 1`,
      )
    ).rows;
    await pglite.query(`UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = $1`, [
      row!.migration_name,
    ]);
    await pglite.close();
    const panel = spawnPanel({ DATA_DIR: dataDir, PORT: "0", SERVE_UI: "false" });
    expect(await panel.exited).toBe(1);
    const lines = panel.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Migration ${row!.migration_name} was edited after it was applied`);
  });
});
