/**
 * `npm run check`: the checks that keep the tree's shape, in two lanes at once (the machine has two
 * cores, and ESLint's type-checked rules alone take as long as the other three together): tsc, then
 * dependency-cruiser, then Prettier in one lane; ESLint in the other. Each check's output is printed
 * whole when it ends, under its name; the command fails when any check fails, after every lane ends.
 *
 * With `--build` (`npm test`), the production build Playwright needs is made in a third lane at the
 * same time (scripts/ensure-build.mjs; nothing when it is up to date). Three processes on two cores:
 * checks and build together took 48 s on a cold cache, against 38 s and about 30 s one after the
 * other. The Prisma client is generated first, before any lane starts, so tsc and ESLint never read
 * it while it is being written.
 */
import { spawn, spawnSync } from "node:child_process";

const build = process.argv.includes("--build");
const npmRun = (script) => ({ name: script, command: "npm", args: ["run", "-s", script] });
const LANES = [
  [npmRun("typecheck"), npmRun("lint:layers"), npmRun("format:check")],
  [npmRun("lint")],
  ...(build
    ? [[{ name: "build", command: process.execPath, args: ["scripts/ensure-build.mjs", "--client-generated"] }]]
    : []),
];

/** Runs one check, collecting its output; resolves to whether it passed. */
function run({ name, command, args }) {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const output = [];
    child.stdout.on("data", (chunk) => output.push(chunk));
    child.stderr.on("data", (chunk) => output.push(chunk));
    child.on("close", (code) => {
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      process.stdout.write(`\n> ${name}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds} s\n`);
      process.stdout.write(Buffer.concat(output));
      resolve(code === 0);
    });
  });
}

async function lane(checks) {
  let passed = true;
  // A lane goes on after a failure: every problem is reported in one run.
  for (const check of checks) passed = (await run(check)) && passed;
  return passed;
}

if (build && spawnSync(process.execPath, ["scripts/prisma-generate.mjs"], { stdio: "inherit" }).status !== 0)
  process.exit(1);
const results = await Promise.all(LANES.map(lane));
process.exit(results.every(Boolean) ? 0 : 1);
