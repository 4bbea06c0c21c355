/**
 * Migration 20261201300001 on a database that already has CI tokens: a token made before scopes
 * existed keeps exactly the evidence scope and never expires, so pipelines using it keep working.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { applyMigrations } from "../../server/db/migrate.ts";
import { MIGRATIONS_DIR, openDatabase, type Database } from "../../server/db/open.ts";

const MIGRATION = "20261201300001_pipeline_tokens_and_commit_time";
let db: Database;
let dir: string;

beforeAll(async () => {
  db = await openDatabase({ kind: "pglite", dataDir: null });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-migrations-"));
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("gives tokens made before scopes the evidence:write scope and no expiry", async () => {
  const names = fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const copy = (name: string) => fs.cpSync(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true });
  for (const name of names.filter((n) => n < MIGRATION)) copy(name);
  const session = await db.openSession();
  try {
    await applyMigrations(session, dir);
    await session.exec(`INSERT INTO "Service" ("id", "slug", "name") VALUES ('s1', 'checkout', 'Checkout');
      INSERT INTO "ServiceApiToken" ("id", "serviceId", "name", "tokenHash", "prefix") VALUES ('t1', 's1', 'CI', '${"a".repeat(64)}', 'glt_abcdef')`);
    copy(MIGRATION);
    expect((await applyMigrations(session, dir)).applied).toEqual([MIGRATION]);
    expect(await session.query(`SELECT "scopes", "expiresAt" FROM "ServiceApiToken"`)).toEqual([
      { scopes: ["evidence:write"], expiresAt: null },
    ]);
  } finally {
    await session.close();
  }
});
