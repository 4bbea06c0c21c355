/**
 * `npm run seed:demo`: creates the demo users (one per role) that do not exist yet on the configured
 * database and prints their passwords once. With DATABASE_URL nothing is seeded unless this is run.
 */
import { ConfigError, loadConfig } from "../config.ts";
import { DataDirInUseError, migrateDatabase, openDatabase } from "../db/open.ts";
import { formatDemoCredentials, seedDemoUsers } from "./demo-users.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(
    config.database.kind === "pglite" ? { kind: "pglite", dataDir: config.database.dataDir } : config.database,
  );
  try {
    await migrateDatabase(db);
    const created = await seedDemoUsers(db.prisma, { onlyIfEmpty: false, bcryptCost: config.auth.bcryptCost });
    process.stdout.write(
      created.length
        ? `${formatDemoCredentials(created)}\n`
        : "All demo users exist already; their passwords were shown when they were created. An administrator can reset them on the Admin page.\n",
    );
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof DataDirInUseError;
  process.stderr.write(known ? `${error.message}\n` : `Seeding failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
