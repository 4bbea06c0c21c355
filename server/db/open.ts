/**
 * Opens the system of record: PGlite (PostgreSQL in WebAssembly, in-process, files under DATA_DIR)
 * when no DATABASE_URL is given, PostgreSQL through @prisma/adapter-pg otherwise. Both speak the
 * same SQL and get the same migrations.
 */
import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/client.ts";
import { applyMigrations, type MigrationResult } from "./migrate.ts";
import { pgliteSession, postgresSession, type SqlSession } from "./sql.ts";

export type Prisma = PrismaClient;
export type DatabaseTarget =
  /**
   * dataDir null keeps the database in memory; `template` starts it from the bytes of a dump (tests and
   * benchmarks use a migrated one, read once and opened many times: PGlite only reads them).
   */
  { kind: "pglite"; dataDir: string | null; template?: Uint8Array } | { kind: "postgres"; url: string };

export interface Database {
  kind: "pglite" | "postgres";
  prisma: PrismaClient;
  /** Opens a raw SQL session (migrations, advisory locks). The caller closes it. */
  openSession(): Promise<SqlSession>;
  /** PGlite only: the whole database as a tarball (test templates, backups of the embedded default). */
  dump?(): Promise<Blob>;
  /** PGlite only: learn the array types migrations created (PGlite reads them once, at start). */
  refreshTypes?(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../prisma/migrations");

/**
 * The embedded database's buffer pool. initdb writes PostgreSQL's 128 MB into postgresql.conf, and
 * PGlite sets the whole pool up in WebAssembly memory when it starts, which costs CPU on every start
 * and 128 MB of memory, for a database that serves one panel and whose files the operating system
 * caches anyway. Opening the suite's migrated template, measured: 0.85–0.95 CPU-s at 128 MB and
 * 0.45–0.55 at 32 MB once a process has opened one; 1.5–1.7 against 1.25–1.3 for a process's first.
 */
const PGLITE_SHARED_BUFFERS = "32MB";

// Interactive transactions queue behind each other on PGlite's single connection; generous limits
// keep a burst of writers from failing while they wait their turn.
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 20_000 };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === "postgres") {
    const adapter = new PrismaPg({ connectionString: target.url, application_name: "greenlight", max: 10 });
    const prisma = new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
    return {
      kind: "postgres",
      prisma,
      openSession: () => postgresSession(target.url),
      close: () => prisma.$disconnect(),
    };
  }
  const releaseLock = target.dataDir ? lockDataDir(target.dataDir) : () => {};
  try {
    const pglite = new PGlite({
      dataDir: target.dataDir ?? undefined,
      loadDataDir: target.template ? new DumpBlob(target.template) : undefined,
      startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
    });
    await pglite.waitReady;
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite), transactionOptions: TRANSACTION_OPTIONS });
    return {
      kind: "pglite",
      prisma,
      openSession: () => Promise.resolve(pgliteSession(pglite)),
      dump: () => pglite.dumpDataDir("none"),
      refreshTypes: () => pglite.refreshArrayTypes(),
      async close() {
        await prisma.$disconnect();
        await pglite.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

export async function migrateDatabase(
  db: Database,
  onApplied?: (name: string, ms: number) => void,
): Promise<MigrationResult> {
  const session = await db.openSession();
  try {
    const result = await applyMigrations(session, MIGRATIONS_DIR, onApplied);
    // Without this, PGlite would send parameters of array types created just now (Role[]) as text.
    if (result.applied.length > 0) await db.refreshTypes?.();
    return result;
  } finally {
    await session.close();
  }
}

/**
 * A dump's bytes as the Blob PGlite asks for. PGlite only calls arrayBuffer(), and Node's own Blob
 * hands 42 MB over in small chunks that it then joins: a third of a CPU-second for every database
 * opened from the suite's template. PGlite copies every file into its in-memory file system, so many
 * databases can start from the same bytes.
 */
class DumpBlob extends Blob {
  readonly #bytes: ArrayBuffer;
  constructor(bytes: Uint8Array) {
    super([]);
    // A file read whole owns its buffer; a view into a shared one (a small file) is copied out.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    this.#bytes = whole ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#bytes);
  }
}

export class DataDirInUseError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `The data directory ${dir} is in use by another Greenlight process (pid ${pid}). Stop it, set DATA_DIR to another directory, or use DATABASE_URL to share a PostgreSQL database.`,
    );
    this.name = "DataDirInUseError";
  }
}

/**
 * PGlite is a single-process database: two processes on one directory would corrupt it.
 * A pid file refuses the second one; a file left by a process that has died is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(fs.readFileSync(lockFile, "utf8").trim());
      if (pid && pid !== process.pid && isAlive(pid)) throw new DataDirInUseError(dataDir, pid);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
