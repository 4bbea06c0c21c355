/**
 * `npm start`: the panel as one process. Prints the URL and, on the first start of the embedded
 * default, the demo sign-ins; stops cleanly on SIGINT/SIGTERM.
 */
import { ConfigError, loadConfig } from "./config.ts";

async function main(): Promise<void> {
  const started = Date.now();
  // The configuration is read before the panel's modules load (the database drivers, Prisma, Next:
  // about two seconds of CPU): a mistyped setting is reported at once.
  const config = loadConfig();
  const { startPanel } = await import("./panel.ts");
  const { formatDemoCredentials } = await import("./auth/demo-users.ts");
  const panel = await startPanel(config);
  // Stops cleanly from the moment anyone can know it runs: a signal sent as soon as the URL is read (a
  // test, a supervisor) could arrive before the handlers and end the process by default (a start-up
  // test saw the panel end by SIGTERM instead of exiting 0).
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    panel.services.log.info({ action: "panel.stopping", metadata: { signal } }, `Stopping on ${signal}`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void panel.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const lines = [
    "",
    `  Greenlight ${config.version} is running at ${panel.url}  (started in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    `  Database: ${config.database.kind === "pglite" ? `embedded PGlite in ${config.database.dataDir}` : "PostgreSQL (DATABASE_URL)"}`,
  ];
  if (panel.demoUsers.length > 0) lines.push("", formatDemoCredentials(panel.demoUsers).replace(/^/gm, "  "));
  process.stdout.write(`${lines.join("\n")}\n\n`);
}

/** Start-up problems a person can fix from the message alone (the panel's modules are loaded by then, but for a ConfigError). */
async function isKnownStartupError(error: unknown): Promise<boolean> {
  if (error instanceof ConfigError) return true;
  try {
    const [{ MigrationError }, { DataDirInUseError }, { MissingBuildError }] = await Promise.all([
      import("./db/migrate.ts"),
      import("./db/open.ts"),
      import("./panel.ts"),
    ]);
    return error instanceof MigrationError || error instanceof DataDirInUseError || error instanceof MissingBuildError;
  } catch {
    // The panel's own modules failed to load: that is the error, and its stack is what helps.
    return false;
  }
}

main().catch(async (error: unknown) => {
  // Known start-up problems get one clear line; anything else gets its stack.
  const known = await isKnownStartupError(error);
  process.stderr.write(
    known
      ? `${(error as Error).message}\n`
      : `Greenlight failed to start: ${(error as Error).stack ?? String(error)}\n`,
  );
  process.exit(1);
});
