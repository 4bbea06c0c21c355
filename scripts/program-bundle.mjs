/**
 * Our TypeScript programs (the panel's server/main.ts, the benchmarks' bench/run.ts) as one CommonJS
 * file each, bundled by esbuild under .cache/programs/ and built again only when a file it was built
 * from has changed. Packages stay external and load from node_modules as they would under tsx.
 *
 * Why not tsx, as before: tsx compiles and resolves every one of the program's few hundred modules
 * through Node's loader hooks at each start. A panel started from a migrated database took 3.2 CPU-s
 * to its banner that way, 2.1 from the bundle; the test suite starts about fifty panels and benchmark
 * processes. The data plane, started more often still, has been bundled the same way since it was
 * written (server/targets/local/data-plane/script.ts).
 *
 * A bundle is one file in a new place, so a module's `__dirname` would name .cache/programs: each of
 * our files is given its own directory instead (the migrations, the demo service and the data plane's
 * sources are found from there).
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, version as esbuildVersion } from "esbuild";

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Replaces `__dirname` and `__filename` in our own sources with where the source file really is. */
const sourceLocation = {
  name: "source-location",
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = (await fs.promises.readFile(args.path, "utf8"))
        .replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path)))
        .replace(/\b__filename\b/g, JSON.stringify(args.path));
      return { contents: text, loader: "ts" };
    });
  },
};

/** The recorded inputs still hash as they did when the bundle was built. */
function upToDate(root, file, manifestFile) {
  if (!fs.existsSync(file) || !fs.existsSync(manifestFile)) return false;
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  } catch {
    return false;
  }
  if (manifest?.esbuild !== esbuildVersion || typeof manifest.inputs !== "object" || manifest.inputs === null)
    return false;
  return Object.entries(manifest.inputs).every(([input, hash]) => {
    try {
      return sha256(fs.readFileSync(path.join(root, input))) === hash;
    } catch {
      return false;
    }
  });
}

/** Writes `bytes` to `file` atomically: another process may be writing the same bundle. */
function writeAtomically(file, bytes) {
  const partial = `${file}.${randomBytes(6).toString("hex")}.partial`;
  fs.writeFileSync(partial, bytes);
  fs.renameSync(partial, file);
}

/**
 * The bundle of `entry` (a path from the project root, such as "server/main.ts"), built first when it
 * is missing or out of date; its absolute path. `root`: another project's (the tests').
 */
export async function programBundle(entry, { root = PROJECT_ROOT } = {}) {
  const cacheDir = path.join(root, ".cache", "programs");
  const name = entry.replace(/\.ts$/, "").replace(/[^\w]+/g, "-");
  const file = path.join(cacheDir, `${name}.cjs`);
  const manifestFile = path.join(cacheDir, `${name}.json`);
  if (upToDate(root, file, manifestFile)) return file;

  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    // Stack traces name the TypeScript files (scripts/run.mjs turns source maps on).
    sourcemap: "linked",
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [sourceLocation],
  });
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const output of result.outputFiles) writeAtomically(output.path, output.contents);
  const inputs = Object.fromEntries(
    Object.keys(result.metafile.inputs)
      .filter((input) => !input.startsWith("node_modules/"))
      .map((input) => [input, sha256(fs.readFileSync(path.join(root, input)))]),
  );
  writeAtomically(manifestFile, JSON.stringify({ entry, esbuild: esbuildVersion, inputs }, null, 2));
  return file;
}
