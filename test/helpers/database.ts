/**
 * A fresh, migrated database for one test file: PGlite started from the run's template, or, in the
 * PostgreSQL tier, a new database created on TEST_DATABASE_URL and dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import pg from "pg";
import { inject } from "vitest";
import { testEnvironment } from "../../server/config.ts";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { migrateDatabase, openDatabase, type Database } from "../../server/db/open.ts";

export type TestDatabase = Database & { url: string | null };

export function testBackend(): "pglite" | "postgres" {
  return inject("backend") ?? "pglite";
}

export async function openTestDatabase(): Promise<TestDatabase> {
  if (testBackend() === "postgres") {
    const url = await createPostgresDatabase();
    const db = await openDatabase({ kind: "postgres", url });
    await migrateDatabase(db);
    return {
      ...db,
      url,
      async close() {
        await db.close();
        await dropPostgresDatabase(url);
      },
    };
  }
  const db = await openDatabase({ kind: "pglite", dataDir: null, template: template() });
  return { ...db, url: null };
}

/** The run's migrated template, read once per worker (the integration tiers share a worker's modules across files). */
let templateBytes: Buffer | undefined;
function template(): Buffer {
  templateBytes ??= fs.readFileSync(inject("pgliteTemplate"));
  return templateBytes;
}

function adminUrl(): string {
  const url = testEnvironment().databaseUrl;
  if (!url) throw new Error("TEST_DATABASE_URL is not set");
  return url;
}

/** A new, empty database on the test server; its URL. */
export async function createPostgresDatabase(): Promise<string> {
  const name = `greenlight_t_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgresDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** A client that counts every operation it runs, raw SQL included, by model and operation ("Deployment.findUnique"). */
export function countingClient(prisma: PrismaClient): {
  client: PrismaClient;
  count: (operation?: string) => number;
} {
  const seen: string[] = [];
  const client = prisma.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        seen.push(model ? `${model}.${operation}` : operation);
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
  return { client, count: (operation) => (operation ? seen.filter((o) => o === operation).length : seen.length) };
}
