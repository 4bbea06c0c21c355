/**
 * server/db/migrate.ts against a real database (PGlite or PostgreSQL, whichever this project runs):
 * migrations from temporary directories are applied in name order and recorded in
 * `_prisma_migrations` exactly as `prisma migrate deploy` records them; a failing migration leaves
 * nothing behind; an edited one stops everything. Then the real prisma/migrations on an empty database.
 *
 * One empty database per file (a fresh PGlite takes seconds to start); each scenario gets its own
 * schema, made current through search_path, which is where `_prisma_migrations` and the scenario's
 * tables are created, just as with `prisma migrate deploy` on a URL with `?schema=`.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { applyMigrations, MigrationError } from "../../server/db/migrate.ts";
import { MIGRATIONS_DIR, openDatabase } from "../../server/db/open.ts";
import { postgresSession, type SqlSession } from "../../server/db/sql.ts";
import { createPostgresDatabase, dropPostgresDatabase, testBackend } from "../helpers/database.ts";

interface EmptyDatabase {
  openSession(): Promise<SqlSession>;
  close(): Promise<void>;
}

async function openEmptyDatabase(): Promise<EmptyDatabase> {
  if (testBackend() === "postgres") {
    const url = await createPostgresDatabase();
    return { openSession: () => postgresSession(url), close: () => dropPostgresDatabase(url) };
  }
  const db = await openDatabase({ kind: "pglite", dataDir: null });
  return { openSession: () => db.openSession(), close: () => db.close() };
}

let database: EmptyDatabase;
const tempDirs: string[] = [];
beforeAll(async () => {
  database = await openEmptyDatabase();
});
afterAll(async () => {
  await database?.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

let scenarios = 0;
/** A session whose current schema is a new, empty one. */
async function scenarioSession(): Promise<SqlSession> {
  const session = await database.openSession();
  onTestFinished(() => session.close());
  const schema = `scenario_${++scenarios}`;
  await session.exec(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
  return session;
}

/** A temporary prisma/migrations-style directory; directories are created in reverse name order. */
function migrationsDir(migrations: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-migrations-"));
  tempDirs.push(dir);
  for (const [name, script] of Object.entries(migrations).reverse()) writeMigration(dir, name, script);
  // Prisma keeps this file next to the migrations; it is not a migration.
  fs.writeFileSync(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  return dir;
}

function writeMigration(dir: string, name: string, script: string): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  fs.writeFileSync(path.join(dir, name, "migration.sql"), script);
}

const sha256File = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

const migrationRows = (session: SqlSession) =>
  session.query<MigrationRow>(`SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name`);

async function tableExists(session: SqlSession, table: string): Promise<boolean> {
  const [row] = await session.query<{ oid: string | null }>(`SELECT to_regclass($1)::text AS oid`, [`"${table}"`]);
  return row?.oid != null;
}

async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}

describe("applyMigrations", () => {
  it("applies migrations in name order and records each one as prisma migrate deploy does", async () => {
    const session = await scenarioSession();
    const dir = migrationsDir({
      "20260101000000_create": `CREATE TABLE "Step" ("n" SERIAL PRIMARY KEY, "migration" TEXT NOT NULL);\nINSERT INTO "Step" ("migration") VALUES ('create');\n`,
      // Only works after the first one.
      "20260102000000_alter": `ALTER TABLE "Step" ADD COLUMN "note" TEXT;\nINSERT INTO "Step" ("migration", "note") VALUES ('alter', 'needs the column');\n`,
      // Sorts after 20260102… although "1" < "2" at that position: names sort as strings, like Prisma's.
      "20260110000000_last": `INSERT INTO "Step" ("migration") VALUES ('last');\n-- Long enough for finished_at to differ visibly from started_at.\nSELECT pg_sleep(0.05);\n`,
    });
    const reported: string[] = [];
    const result = await applyMigrations(session, dir, (name) => reported.push(name));

    const names = ["20260101000000_create", "20260102000000_alter", "20260110000000_last"];
    expect(result).toEqual({ applied: names, alreadyApplied: 0 });
    expect(reported).toEqual(names);
    expect(
      (await session.query<{ migration: string }>(`SELECT migration FROM "Step" ORDER BY n`)).map((r) => r.migration),
    ).toEqual(["create", "alter", "last"]);

    // The table itself, column for column as Prisma creates it.
    const columns = await session.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      {
        column_name: "id",
        data_type: "character varying",
        character_maximum_length: 36,
        is_nullable: "NO",
        column_default: null,
      },
      {
        column_name: "checksum",
        data_type: "character varying",
        character_maximum_length: 64,
        is_nullable: "NO",
        column_default: null,
      },
      {
        column_name: "finished_at",
        data_type: "timestamp with time zone",
        character_maximum_length: null,
        is_nullable: "YES",
        column_default: null,
      },
      {
        column_name: "migration_name",
        data_type: "character varying",
        character_maximum_length: 255,
        is_nullable: "NO",
        column_default: null,
      },
      {
        column_name: "logs",
        data_type: "text",
        character_maximum_length: null,
        is_nullable: "YES",
        column_default: null,
      },
      {
        column_name: "rolled_back_at",
        data_type: "timestamp with time zone",
        character_maximum_length: null,
        is_nullable: "YES",
        column_default: null,
      },
      {
        column_name: "started_at",
        data_type: "timestamp with time zone",
        character_maximum_length: null,
        is_nullable: "NO",
        column_default: "now()",
      },
      {
        column_name: "applied_steps_count",
        data_type: "integer",
        character_maximum_length: null,
        is_nullable: "NO",
        column_default: "0",
      },
    ]);
    const primaryKey = await session.query<{ column: string }>(
      `SELECT a.attname AS column FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
        WHERE x.indrelid = '"_prisma_migrations"'::regclass AND x.indisprimary`,
    );
    expect(primaryKey).toEqual([{ column: "id" }]);

    const rows = await migrationRows(session);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(new Set(rows.map((r) => r.id)).size).toBe(names.length);
    for (const row of rows) {
      expect(row).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        checksum: sha256File(path.join(dir, row.migration_name, "migration.sql")),
        finished_at: expect.any(Date),
        migration_name: row.migration_name,
        logs: null,
        rolled_back_at: null,
        started_at: expect.any(Date),
        applied_steps_count: 1,
      });
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
    // finished_at is when the script finished, not when its transaction began.
    const last = rows[2]!;
    expect(last.finished_at!.getTime() - last.started_at.getTime()).toBeGreaterThanOrEqual(50);
    // Each migration starts after the previous one finished.
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]!.started_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.finished_at!.getTime());
  });

  it("applies nothing on a second run, and only the new migration on a third", async () => {
    const session = await scenarioSession();
    const dir = migrationsDir({
      "20260101000000_a": `CREATE TABLE "Counter" ("runs" INTEGER NOT NULL);\nINSERT INTO "Counter" VALUES (1);\n`,
      "20260102000000_b": `UPDATE "Counter" SET "runs" = "runs" + 1;\n`,
    });
    expect(await applyMigrations(session, dir)).toEqual({
      applied: ["20260101000000_a", "20260102000000_b"],
      alreadyApplied: 0,
    });
    const before = await migrationRows(session);

    const reported: string[] = [];
    expect(await applyMigrations(session, dir, (name) => reported.push(name))).toEqual({
      applied: [],
      alreadyApplied: 2,
    });
    expect(reported).toEqual([]);
    expect(await migrationRows(session)).toEqual(before);
    expect(await session.query(`SELECT "runs" FROM "Counter"`)).toEqual([{ runs: 2 }]);

    writeMigration(dir, "20260103000000_c", `UPDATE "Counter" SET "runs" = "runs" + 10;\n`);
    expect(await applyMigrations(session, dir)).toEqual({ applied: ["20260103000000_c"], alreadyApplied: 2 });
    expect(await session.query(`SELECT "runs" FROM "Counter"`)).toEqual([{ runs: 12 }]);
    const after = await migrationRows(session);
    expect(after.slice(0, 2)).toEqual(before);
    expect(after.map((r) => r.migration_name)).toEqual(["20260101000000_a", "20260102000000_b", "20260103000000_c"]);
  });

  it("rolls a failing migration back completely, names it, keeps the earlier ones and stops there", async () => {
    const session = await scenarioSession();
    const broken = `CREATE TABLE "Partial" ("id" INTEGER);\nINSERT INTO "Partial" VALUES (1);\nINSERT INTO "Missing" VALUES (1);\n`;
    const dir = migrationsDir({
      "20260101000000_kept": `CREATE TABLE "Kept" ("id" INTEGER);\n`,
      "20260102000000_broken": broken,
      "20260103000000_after": `CREATE TABLE "After" ("id" INTEGER);\n`,
    });
    const reported: string[] = [];
    const error = await rejection(applyMigrations(session, dir, (name) => reported.push(name)));
    expect(error.migration).toBe("20260102000000_broken");
    expect(error.message).toContain("20260102000000_broken");
    expect(error.message).toContain('relation "Missing" does not exist');
    expect(reported).toEqual(["20260101000000_kept"]);

    expect(
      (await migrationRows(session)).map((r) => [r.migration_name, r.applied_steps_count, r.finished_at !== null]),
    ).toEqual([["20260101000000_kept", 1, true]]);
    expect(await tableExists(session, "Kept")).toBe(true);
    expect(await tableExists(session, "Partial")).toBe(false);
    expect(await tableExists(session, "After")).toBe(false);
    // The advisory lock was given back.
    expect(
      await session.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
      ),
    ).toEqual([{ n: 0 }]);

    // Nothing was recorded, so once fixed the migration simply runs.
    writeMigration(dir, "20260102000000_broken", broken.replace('"Missing"', '"Partial"'));
    expect(await applyMigrations(session, dir)).toEqual({
      applied: ["20260102000000_broken", "20260103000000_after"],
      alreadyApplied: 1,
    });
    expect(await session.query(`SELECT "id" FROM "Partial" ORDER BY "id"`)).toEqual([{ id: 1 }, { id: 1 }]);
    expect(await tableExists(session, "After")).toBe(true);
  });

  it("refuses to go on when an applied migration was edited, and changes nothing", async () => {
    const session = await scenarioSession();
    const original = `-- CreateTable\nCREATE TABLE "First" ("id" INTEGER);\n`;
    const dir = migrationsDir({
      "20260101000000_first": original,
      "20260102000000_second": `CREATE TABLE "Second" ("id" INTEGER);\n`,
    });
    await applyMigrations(session, dir);
    const before = await migrationRows(session);

    writeMigration(dir, "20260101000000_first", `${original}ALTER TABLE "First" ADD COLUMN "sneaky" TEXT;\n`);
    writeMigration(dir, "20260103000000_third", `CREATE TABLE "Third" ("id" INTEGER);\n`);
    const error = await rejection(applyMigrations(session, dir));
    expect(error.migration).toBe("20260101000000_first");
    expect(error.message).toContain("20260101000000_first");
    expect(error.message).toMatch(/edited after it was applied/);
    expect(await migrationRows(session)).toEqual(before);
    expect(await tableExists(session, "Third")).toBe(false);
    expect(
      await session.query(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'First'`,
      ),
    ).toEqual([{ column_name: "id" }]);

    // The same text with Windows line endings is not an edit: the pending migration goes ahead.
    writeMigration(dir, "20260101000000_first", original.replace(/\n/g, "\r\n"));
    expect(await applyMigrations(session, dir)).toEqual({ applied: ["20260103000000_third"], alreadyApplied: 2 });
  });

  it("refuses a migration that started but never finished until it is marked rolled back", async () => {
    const session = await scenarioSession();
    const dir = migrationsDir({ "20260101000000_a": `CREATE TABLE "A" ("id" INTEGER);\n` });
    // What a crashed `prisma migrate deploy` leaves behind (the table is created by the first run).
    await applyMigrations(session, migrationsDir({}));
    await session.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('00000000-0000-4000-8000-000000000000', $1, '20260101000000_a')`,
      [sha256File(path.join(dir, "20260101000000_a", "migration.sql"))],
    );

    const error = await rejection(applyMigrations(session, dir));
    expect(error.migration).toBe("20260101000000_a");
    expect(error.message).toMatch(/20260101000000_a started but never finished/);
    expect(await tableExists(session, "A")).toBe(false);

    await session.query(
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '20260101000000_a'`,
    );
    expect(await applyMigrations(session, dir)).toEqual({ applied: ["20260101000000_a"], alreadyApplied: 0 });
    expect(
      (await migrationRows(session)).map((r) => [r.migration_name, r.rolled_back_at !== null, r.finished_at !== null]),
    ).toEqual([
      ["20260101000000_a", true, false],
      ["20260101000000_a", false, true],
    ]);
  });
});

describe("the real migrations", () => {
  it("apply cleanly, in order, on an empty database, and only once", async () => {
    const session = await database.openSession();
    onTestFinished(() => session.close());
    await session.exec(`SET search_path TO public`);
    expect(
      await session.query(
        `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
      ),
    ).toEqual([{ n: 0 }]);

    const names = fs
      .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(names.length).toBeGreaterThan(0);
    expect(await applyMigrations(session, MIGRATIONS_DIR)).toEqual({ applied: names, alreadyApplied: 0 });

    const rows = await migrationRows(session);
    expect(
      rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count, r.finished_at !== null, r.rolled_back_at]),
    ).toEqual(names.map((name) => [name, sha256File(path.join(MIGRATIONS_DIR, name, "migration.sql")), 1, true, null]));
    expect(await session.query(`SELECT "id", "seq"::text AS seq, "hash" FROM "AuditChainHead"`)).toEqual([
      { id: 1, seq: "0", hash: "0".repeat(64) },
    ]);
    expect(await applyMigrations(session, MIGRATIONS_DIR)).toEqual({ applied: [], alreadyApplied: names.length });
    expect(await migrationRows(session)).toEqual(rows);
  });
});
