import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnvironment } from "../../server/config.ts";
import { createPostgresDatabase, dropPostgresDatabase } from "../helpers/database.ts";
import { sameOrigin, signInOverHttp } from "../helpers/panel.ts";
import { spawnPanel, type PanelProcess } from "../helpers/process.ts";
import { trpcMutation } from "../helpers/trpc.ts";

// Two panel instances, as separate processes, on one PostgreSQL database and one Redis.
let databaseUrl: string;
let dataDir: string;
let a: PanelProcess;
let b: PanelProcess;
let urlA: string;
let urlB: string;
let adminPassword: string;

beforeAll(async () => {
  databaseUrl = await createPostgresDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-two-panels-"));
  const shared = {
    DATABASE_URL: databaseUrl,
    // One data directory for both, as two instances of one deployment share their settings.
    DATA_DIR: dataDir,
    REDIS_URL: testEnvironment().redisUrl!,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    SERVE_UI: "false",
    PORT: "0",
    HOST: "127.0.0.1",
  };
  // Both start at once: the migration lock makes them apply each migration once between them.
  a = spawnPanel({ ...shared, SEED_DEMO_USERS: "true" });
  b = spawnPanel(shared);
  [urlA, urlB] = await Promise.all([a.waitForUrl(), b.waitForUrl()]);
  adminPassword = (await a.waitForOutput(/admin@greenlight\.local\s+(\S{4}-\S{4}-\S{4}-\S{4})/))[1]!;
});

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  if (databaseUrl) await dropPostgresDatabase(databaseUrl);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("with REDIS_URL", () => {
  it("both instances report Redis healthy", async () => {
    for (const url of [urlA, urlB]) {
      const body = (await (await fetch(`${url}/health`)).json()) as { checks: { redis: string } };
      expect(body.checks.redis).toBe("healthy");
    }
  });

  it("an event emitted on one instance reaches a client connected to the other", async () => {
    const cookie = (await signInOverHttp(urlA, "admin@greenlight.local", adminPassword))!;
    const socket = io(urlB, {
      transports: ["websocket"],
      reconnection: false,
      extraHeaders: { Cookie: cookie, ...sameOrigin(urlB) },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on("connect", resolve);
        socket.on("connect_error", reject);
      });
      const received = new Promise<{ at: string }>((resolve) => socket.on("users:changed", resolve));
      const created = await trpcMutation(
        urlA,
        "users.create",
        { email: "fanout@example.test", name: "Fan Out", roles: ["viewer"] },
        cookie,
      );
      expect(created.status).toBe(200);
      expect(await received).toMatchObject({ at: expect.any(String) });
    } finally {
      socket.close();
    }
  });
});
