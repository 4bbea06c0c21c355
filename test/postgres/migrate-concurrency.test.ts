/**
 * Two panel instances starting at once against one PostgreSQL database: the advisory lock in
 * server/db/migrate.ts makes one wait for the other, so each migration is applied exactly once.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { applyMigrations, MIGRATION_LOCK_KEY, type MigrationResult } from "../../server/db/migrate.ts";
import { MIGRATIONS_DIR } from "../../server/db/open.ts";
import { postgresSession, type SqlSession } from "../../server/db/sql.ts";
import { createPostgresDatabase, dropPostgresDatabase } from "../helpers/database.ts";

const databases: string[] = [];
const tempDirs: string[] = [];
afterAll(async () => {
  for (const url of databases) await dropPostgresDatabase(url);
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function freshDatabase(): Promise<string> {
  const url = await createPostgresDatabase();
  databases.push(url);
  return url;
}

async function session(url: string): Promise<SqlSession> {
  const s = await postgresSession(url);
  onTestFinished(() => s.close());
  return s;
}

const countsPerMigration = (s: SqlSession) =>
  s.query<{ migration_name: string; n: number; finished: number }>(
    `SELECT migration_name, count(*)::int AS n, count(finished_at)::int AS finished FROM "_prisma_migrations" GROUP BY migration_name ORDER BY migration_name`,
  );

describe("two appliers at once", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-migrations-"));
    tempDirs.push(dir);
    const migrations: Record<string, string> = {
      // Slow enough that the second applier is certainly waiting on the lock by the time the first is done.
      "20260101000000_slow": `CREATE TABLE "Applied" ("n" SERIAL PRIMARY KEY, "migration" TEXT NOT NULL, "pid" INTEGER NOT NULL, "waiting" INTEGER);\nSELECT pg_sleep(0.3);\nINSERT INTO "Applied" ("migration", "pid") VALUES ('slow', pg_backend_pid());\n`,
      "20260102000000_second": `INSERT INTO "Applied" ("migration", "pid") VALUES ('second', pg_backend_pid());\n`,
      // Records how many sessions are queued on the migration lock in this database while this one holds it
      // (pg_locks covers the whole server, where other test files migrate their own databases).
      "20260103000000_third": `INSERT INTO "Applied" ("migration", "pid", "waiting")
SELECT 'third', pg_backend_pid(), count(*)::int FROM pg_locks
 WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = ${MIGRATION_LOCK_KEY} AND objsubid = 1
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database());\n`,
    };
    for (const [name, script] of Object.entries(migrations)) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, "migration.sql"), script);
    }
  });

  it("apply each migration exactly once: one applies them all, the other finds nothing to do", async () => {
    const url = await freshDatabase();
    const [a, b] = [await session(url), await session(url)];
    const [pidA, pidB] = [await backendPid(a), await backendPid(b)];

    const results = await Promise.all([applyMigrations(a, dir), applyMigrations(b, dir)]);

    const names = ["20260101000000_slow", "20260102000000_second", "20260103000000_third"];
    expect(sortedResults(results)).toEqual([
      { applied: [], alreadyApplied: 3 },
      { applied: names, alreadyApplied: 0 },
    ]);
    expect(await countsPerMigration(a)).toEqual(names.map((migration_name) => ({ migration_name, n: 1, finished: 1 })));
    const applied = await a.query<{ migration: string; pid: number; waiting: number | null }>(
      `SELECT "migration", "pid", "waiting" FROM "Applied" ORDER BY "n"`,
    );
    expect(applied.map((r) => r.migration)).toEqual(["slow", "second", "third"]);
    // All by the same session, which is the one that reported applying them ...
    const winner = results[0].applied.length > 0 ? pidA : pidB;
    expect(new Set(applied.map((r) => r.pid))).toEqual(new Set([winner]));
    // ... while the other one was queued on the lock: the two runs really overlapped.
    expect(applied[2]!.waiting).toBe(1);
    // And neither holds the lock any more.
    expect(
      await a.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      ),
    ).toEqual([{ n: 0 }]);
  });

  it("apply the real migrations exactly once", async () => {
    const url = await freshDatabase();
    const [a, b] = [await session(url), await session(url)];
    const names = fs
      .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();

    const results = await Promise.all([applyMigrations(a, MIGRATIONS_DIR), applyMigrations(b, MIGRATIONS_DIR)]);

    expect(sortedResults(results)).toEqual([
      { applied: [], alreadyApplied: names.length },
      { applied: names, alreadyApplied: 0 },
    ]);
    expect(await countsPerMigration(b)).toEqual(names.map((migration_name) => ({ migration_name, n: 1, finished: 1 })));
    expect(await b.query(`SELECT count(*)::int AS n FROM "AuditChainHead"`)).toEqual([{ n: 1 }]);
  });
});

async function backendPid(s: SqlSession): Promise<number> {
  const [row] = await s.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
  return row!.pid;
}

const sortedResults = (results: MigrationResult[]) => [...results].sort((x, y) => x.applied.length - y.applied.length);
