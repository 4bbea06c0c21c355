/**
 * A real panel for integration tests: in-process, API only (no Next.js build needed), on an
 * OS-chosen port, over a fresh test database, with its log lines captured. Requests go over real
 * HTTP; sign-ins go through next-auth like a browser's.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { systemActor } from "../../server/audit/actor.ts";
import type { Role } from "../../server/auth/roles.ts";
import { createUser } from "../../server/auth/users.ts";
import { parseConfig } from "../../server/config.ts";
import { startPanel, type Panel } from "../../server/panel.ts";
import { openTestDatabase, testBackend } from "./database.ts";
import { signInOverHttp } from "./http-auth.ts";
import { panelClient, type PanelClient } from "./panel-client.ts";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  cookie: string;
  /** Calls the panel as this user, typed against AppRouter. */
  client: PanelClient;
}

export interface TestPanel {
  url: string;
  panel: Panel;
  prisma: Panel["services"]["prisma"];
  logs: string[];
  signIn(email: string, password: string): Promise<string>;
  createUser(roles: Role[], name?: string): Promise<TestUser>;
  close(): Promise<void>;
}

export function logCapture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      callback();
    },
  });
  return { lines, stream };
}

/**
 * `configuredDatabase`: the panel opens the database its DATABASE_URL names itself (a role's own
 * connection, say) instead of a fresh test database.
 */
export async function startTestPanel(
  env: Record<string, string> = {},
  options: { configuredDatabase?: boolean } = {},
): Promise<TestPanel> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-test-"));
  const database = options.configuredDatabase ? undefined : await openTestDatabase();
  const config = parseConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    SERVE_UI: "false",
    SEED_DEMO_USERS: "false",
    LOG_LEVEL: "debug",
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    // The cheapest cost bcrypt allows: the suite creates hundreds of users (BCRYPT_COST in README).
    BCRYPT_COST: "4",
    ...(testBackend() === "postgres" && database?.url ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const capture = logCapture();
  const panel = await startPanel(config, { database, logStreams: [capture.stream], logToStdout: false });
  const url = `http://127.0.0.1:${panel.port}`;
  let counter = 0;

  async function signIn(email: string, password: string): Promise<string> {
    const cookie = await signInOverHttp(url, email, password);
    if (!cookie) throw new Error(`Sign-in failed for ${email}`);
    return cookie;
  }

  return {
    url,
    panel,
    prisma: panel.services.prisma,
    logs: capture.lines,
    signIn,
    async createUser(roles, name) {
      counter++;
      const email = `${roles.join("-").replace(/_/g, "-")}-${counter}-${randomBytes(3).toString("hex")}@example.test`;
      const { user, initialPassword } = await createUser(
        panel.services.prisma,
        systemActor(),
        {
          email,
          name: name ?? `Test ${roles.join(" ")}`,
          roles,
        },
        panel.services.config.auth.bcryptCost,
      );
      const cookie = await signIn(email, initialPassword);
      return { id: user.id, email, password: initialPassword, cookie, client: panelClient(url, cookie) };
    },
    async close() {
      await panel.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { postCredentials, sameOrigin, signInOverHttp, signOutOverHttp } from "./http-auth.ts";
