/**
 * Applies the SQL migrations in prisma/migrations, recording them in `_prisma_migrations` exactly as
 * `prisma migrate deploy` does (same table, columns and sha256 checksums), so either tool can take over.
 *
 * Each migration runs in its own transaction together with its bookkeeping row, so a failing script
 * leaves nothing behind. A session-level advisory lock (Prisma's own key) makes concurrent starters
 * wait for each other: each migration is applied exactly once.
 */
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { SqlSession } from "./sql.ts";

/** The advisory lock key `prisma migrate` takes, so the two never run at once either. */
export const MIGRATION_LOCK_KEY = 72707369;

export interface MigrationFile {
  name: string;
  script: string;
}

export interface AppliedMigration {
  name: string;
  checksum: string;
  finishedAt: Date | null;
  rolledBackAt: Date | null;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration: string,
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

export function migrationChecksum(script: string): string {
  return createHash("sha256").update(script, "utf8").digest("hex");
}

/** Like Prisma, a checksum taken on a checkout with other line endings still matches. */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replace(/\r\n/g, "\n"), script.replace(/\r?\n/g, "\r\n")];
  return variants.some((variant) => migrationChecksum(variant) === checksum);
}

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({ name, script: await fs.readFile(path.join(dir, name, "migration.sql"), "utf8") })),
  );
}

/**
 * Decides what to do with the migrations on disk given what the database has recorded.
 * Pure, so the rules are tested without a database.
 */
export function planMigrations(files: MigrationFile[], applied: AppliedMigration[]): MigrationFile[] {
  const byName = new Map<string, AppliedMigration[]>();
  for (const row of applied) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);
  const pending: MigrationFile[] = [];
  for (const file of files) {
    const rows = (byName.get(file.name) ?? []).filter((r) => r.rolledBackAt === null);
    const finished = rows.find((r) => r.finishedAt !== null);
    if (finished) {
      if (!scriptMatchesChecksum(file.script, finished.checksum)) {
        throw new MigrationError(
          `Migration ${file.name} was edited after it was applied to this database (checksum ${finished.checksum.slice(0, 12)}… no longer matches prisma/migrations/${file.name}/migration.sql). Restore the file and add a new migration for the change.`,
          file.name,
        );
      }
      continue;
    }
    if (rows.length > 0) {
      throw new MigrationError(
        `Migration ${file.name} started but never finished on this database. Inspect the database, then mark it rolled back (prisma migrate resolve --rolled-back ${file.name}) before starting again.`,
        file.name,
      );
    }
    pending.push(file);
  }
  const known = new Set(files.map((f) => f.name));
  const unknown = applied.filter((r) => r.finishedAt !== null && r.rolledBackAt === null && !known.has(r.name));
  if (unknown.length > 0) {
    throw new MigrationError(
      `The database has migration ${unknown[0]!.name} applied, which is not in prisma/migrations: this panel is older than the database. Start a newer version.`,
      unknown[0]!.name,
    );
  }
  return pending;
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export async function applyMigrations(
  session: SqlSession,
  migrationsDir: string,
  onApplied: (name: string, ms: number) => void = () => {},
): Promise<MigrationResult> {
  const files = await readMigrations(migrationsDir);
  await session.query(`SELECT pg_advisory_lock($1)`, [MIGRATION_LOCK_KEY]);
  try {
    // Created only when missing: a panel running as a role without CREATE (README, "PostgreSQL")
    // starts on a database its owner has migrated.
    const [bookkeeping] = await session.query<{ exists: boolean }>(
      `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists`,
    );
    if (!bookkeeping?.exists) await session.exec(CREATE_MIGRATIONS_TABLE);
    const rows = await session.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
    }>(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`);
    const applied = rows.map((r) => ({
      name: r.migration_name,
      checksum: r.checksum,
      finishedAt: r.finished_at,
      rolledBackAt: r.rolled_back_at,
    }));
    const pending = planMigrations(files, applied);
    for (const file of pending) {
      const started = Date.now();
      try {
        await session.transaction(async (tx) => {
          const id = randomUUID();
          await tx.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
            [id, migrationChecksum(file.script), file.name],
          );
          await tx.exec(file.script);
          // now() is fixed at the start of the transaction: the clock says when the script finished.
          await tx.query(
            `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
            [id],
          );
        });
      } catch (error) {
        throw new MigrationError(
          `Migration ${file.name} failed and was rolled back: ${(error as Error).message}`,
          file.name,
        );
      }
      onApplied(file.name, Date.now() - started);
    }
    return { applied: pending.map((f) => f.name), alreadyApplied: files.length - pending.length };
  } finally {
    await session.query(`SELECT pg_advisory_unlock($1)`, [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}
