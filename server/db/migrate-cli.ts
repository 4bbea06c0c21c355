/** `npm run db:migrate`: applies pending migrations to the configured database and exits. */
import { ConfigError, loadConfig } from "../config.ts";
import { MigrationError } from "./migrate.ts";
import { DataDirInUseError, migrateDatabase, openDatabase } from "./open.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(
    config.database.kind === "pglite" ? { kind: "pglite", dataDir: config.database.dataDir } : config.database,
  );
  try {
    const result = await migrateDatabase(db, (name, ms) => process.stdout.write(`Applied ${name} (${ms} ms)\n`));
    process.stdout.write(
      result.applied.length
        ? `${result.applied.length} migration(s) applied; ${result.alreadyApplied} were already applied.\n`
        : `Up to date: ${result.alreadyApplied} migration(s) already applied.\n`,
    );
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof MigrationError || error instanceof DataDirInUseError;
  process.stderr.write(known ? `${error.message}\n` : `Migration failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
