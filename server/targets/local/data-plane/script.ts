/**
 * The data plane's program as plain JavaScript: main.ts and the modules it imports, bundled by esbuild
 * into one CommonJS file, written once per content under node_modules/.cache/greenlight (its packages
 * stay external and resolve from node_modules, above it).
 *
 * Why not tsx, as the panel runs: the data plane is a small program started often (at every panel
 * start, again whenever it dies, and about eighty times in the test suite), and tsx's loader cost it
 * 0.8-0.9 CPU-seconds per start, against 0.4 for the bundle. The bundle takes esbuild a fraction of a
 * second once per panel process.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

export const DATA_PLANE_MAIN = path.join(__dirname, "main.ts");
const ROOT = path.resolve(__dirname, "../../../..");
const CACHE_DIR = path.join(ROOT, "node_modules/.cache/greenlight");
/** Every version's bundle path begins with this (what a data plane's command line shows). */
export const DATA_PLANE_SCRIPT_PREFIX = path.join(CACHE_DIR, "data-plane-");

let script: Promise<string> | null = null;

/**
 * The bundled data plane's path, built the first time a process asks. A failure is kept too: the
 * process runs the data plane through tsx from then on (supervisor.ts) rather than trying again at
 * every restart.
 */
export function dataPlaneScript(): Promise<string> {
  script ??= bundleDataPlane(CACHE_DIR);
  return script;
}

/** Bundles main.ts into `cacheDir`, unless that version is there already; the file's path. */
export async function bundleDataPlane(cacheDir: string): Promise<string> {
  const result = await build({
    // Paths in the source map are relative to the output directory (where Node resolves them), and the
    // bundle is the same whichever directory the panel was started from.
    absWorkingDir: ROOT,
    outdir: cacheDir,
    entryPoints: [DATA_PLANE_MAIN],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    // Stack traces in its log name the TypeScript files (node runs it with --enable-source-maps).
    sourcemap: "inline",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  const file = path.join(cacheDir, `data-plane-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.cjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    // Another panel may be writing the same file: each writes its own and renames it into place.
    const partial = `${file}.${randomBytes(6).toString("hex")}.partial`;
    fs.writeFileSync(partial, code);
    fs.renameSync(partial, file);
  }
  return file;
}
