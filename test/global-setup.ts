/**
 * Once per test run: a migrated PGlite database dumped to .cache, so each test file starts from it
 * in about a second instead of running initdb and every migration again; and the bundles of the
 * programs the tiers start as processes (the panel, the benchmarks), so that the first few started
 * at once do not each build them (scripts/program-bundle.mjs).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { testEnvironment } from "../server/config.ts";
import { migrateDatabase, MIGRATIONS_DIR, openDatabase } from "../server/db/open.ts";
import { programBundle } from "../scripts/program-bundle.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    backend: "pglite" | "postgres";
    pgliteTemplate: string;
  }
}

function migrationsFingerprint(): string {
  const hash = createHash("sha256");
  for (const name of fs.readdirSync(MIGRATIONS_DIR).sort())
    hash.update(name).update(fs.readFileSync(path.join(MIGRATIONS_DIR, name, "migration.sql")));
  return hash.digest("hex").slice(0, 16);
}

function announceSkippedTiers(): void {
  // Global setup runs once per project, in one process: announce once.
  const flag = globalThis as { greenlightTiersAnnounced?: boolean };
  if (flag.greenlightTiersAnnounced) return;
  flag.greenlightTiersAnnounced = true;
  const env = testEnvironment();
  const skipped: string[] = [];
  if (!env.databaseUrl)
    skipped.push(
      "PostgreSQL tier skipped because TEST_DATABASE_URL is not set (try TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test)",
    );
  if (!env.redisUrl)
    skipped.push("Redis tier skipped because TEST_REDIS_URL is not set (try TEST_REDIS_URL=redis://127.0.0.1:6379)");
  else if (!env.databaseUrl)
    skipped.push(
      "Redis tier skipped because it needs TEST_DATABASE_URL too (two panel instances must share one database)",
    );
  if (!fs.existsSync(env.prometheusPath))
    skipped.push(
      `Prometheus tier skipped because ${env.prometheusPath} is not installed (apt-get install prometheus, or set PROMETHEUS_PATH)`,
    );
  for (const line of skipped) console.log(`  ${line}`);
}

export default async function setup(project: TestProject) {
  announceSkippedTiers();
  await Promise.all([programBundle("server/main.ts"), programBundle("bench/run.ts")]);
  const cacheDir = path.resolve(__dirname, "../.cache");
  fs.mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `pglite-template-${migrationsFingerprint()}.tar`);
  if (!fs.existsSync(file)) {
    const db = await openDatabase({ kind: "pglite", dataDir: null });
    await migrateDatabase(db);
    // A dump taken after a checkpoint starts without replaying the migrations' write-ahead log.
    const session = await db.openSession();
    await session.query("CHECKPOINT");
    await session.close();
    const dump = await db.dump!();
    fs.writeFileSync(`${file}.tmp`, Buffer.from(await dump.arrayBuffer()));
    fs.renameSync(`${file}.tmp`, file);
    await db.close();
  }
  project.provide("pgliteTemplate", file);
}
