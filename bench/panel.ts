/** A real panel for benchmarks: in-process, API only, on an embedded database in a temporary directory. */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { systemActor } from "../server/audit/actor.ts";
import type { Role } from "../server/auth/roles.ts";
import { createUser } from "../server/auth/users.ts";
import { parseConfig } from "../server/config.ts";
import { openDatabase, type Database } from "../server/db/open.ts";
import { startPanel, type Panel, type StartOptions } from "../server/panel.ts";
import { signInOverHttp } from "../test/helpers/http-auth.ts";

let databaseTemplate: Buffer | null = null;

/**
 * `--pglite-template <file>` (bench/run.ts): each benchmark's embedded database starts in memory from
 * this migrated dump instead of running initdb and every migration in a new directory (about 5 s of
 * CPU each). For the suite's smoke test, which checks that every benchmark still prints its line; no
 * figure covers start-up, and measured runs leave it out.
 */
export function startFromTemplate(file: string): void {
  databaseTemplate = fs.readFileSync(file);
}

/** The embedded database from the template, when one was given. */
export async function templateDatabase(): Promise<Database | undefined> {
  return databaseTemplate ? openDatabase({ kind: "pglite", dataDir: null, template: databaseTemplate }) : undefined;
}

export async function startBenchPanel(
  env: Record<string, string> = {},
  options: Pick<StartOptions, "gateRule"> = {},
): Promise<{
  panel: Panel;
  url: string;
  /** A new user with these roles, signed in: their session cookie. */
  user(roles: Role[]): Promise<string>;
  /** Another session of the last user made. */
  signInAgain(): Promise<string>;
  close(): Promise<void>;
}> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-bench-"));
  const config = parseConfig({
    NODE_ENV: "production",
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    SERVE_UI: "false",
    SEED_DEMO_USERS: "false",
    LOG_LEVEL: "warn",
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    ...env,
  });
  const database = env.DATABASE_URL ? undefined : await templateDatabase();
  const panel = await startPanel(config, { logToStdout: false, ...options, ...(database ? { database } : {}) });
  const url = `http://127.0.0.1:${panel.port}`;
  let n = 0;
  let last: { email: string; password: string } | null = null;
  return {
    panel,
    url,
    async user(roles) {
      const email = `bench-${++n}@example.test`;
      const { initialPassword } = await createUser(
        panel.services.prisma,
        systemActor(),
        {
          email,
          name: "Bench",
          roles,
        },
        panel.services.config.auth.bcryptCost,
      );
      last = { email, password: initialPassword };
      return (await signInOverHttp(url, email, initialPassword))!;
    },
    async signInAgain() {
      if (!last) throw new Error("No user to sign in again");
      return (await signInOverHttp(url, last.email, last.password))!;
    },
    async close() {
      await panel.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
