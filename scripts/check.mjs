/**
 * `npm run check`: the checks that keep the tree's shape, in two lanes at once (the machine has two
 * cores, and ESLint's type-checked rules alone take longer than the other three together): the type
 * check, then dependency-cruiser, then Prettier in one lane; ESLint in the other. Each check's output
 * is printed whole when it ends, under its name; the command fails when any check fails, after every
 * lane ends.
 *
 * With `--build` (`npm test`), the production build Playwright needs is made in a third lane at the
 * same time (scripts/ensure-build.mjs; nothing when it is up to date). The Prisma client is generated
 * first, before any lane starts, so the type check and ESLint never read it while it is being written.
 *
 * With `-- <command> [args…]` (`npm test`: vitest), the command starts as soon as every lane but
 * ESLint's has passed, and ESLint goes on beside it. ESLint is the long pole: in a fresh clone the
 * other lanes were done at 60 s and ESLint at 87 s, with one core idle in between. Its report is
 * printed after the command's output, and the exit code is non-zero when either failed. When another
 * check fails, the command does not start.
 */
import { spawn, spawnSync } from "node:child_process";

const build = process.argv.includes("--build");
const separator = process.argv.indexOf("--");
const command = separator === -1 ? [] : process.argv.slice(separator + 1);
const npmRun = (script) => ({ name: script, command: "npm", args: ["run", "-s", script] });
/** Lanes run at once; the checks of a lane one after the other. `beside`: may outlast the checks, running beside `command`. */
const LANES = [
  { checks: [npmRun("typecheck"), npmRun("lint:layers"), npmRun("format:check")] },
  { checks: [npmRun("lint")], beside: true },
  ...(build
    ? [
        {
          checks: [
            { name: "build", command: process.execPath, args: ["scripts/ensure-build.mjs", "--client-generated"] },
          ],
        },
      ]
    : []),
];

/** Runs one check, collecting its output; resolves to whether it passed and its report. */
function run({ name, command, args }) {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const output = [];
    child.stdout.on("data", (chunk) => output.push(chunk));
    child.stderr.on("data", (chunk) => output.push(chunk));
    child.on("close", (code) => {
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      const heading = `\n> ${name}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds} s\n`;
      resolve({ passed: code === 0, report: Buffer.concat([Buffer.from(heading), ...output]) });
    });
  });
}

/** Runs a lane's checks in order; `print` gets each report as its check ends. */
async function lane({ checks }, print) {
  let passed = true;
  // A lane goes on after a failure: every problem is reported in one run.
  for (const check of checks) {
    const result = await run(check);
    print(result.report);
    passed = result.passed && passed;
  }
  return passed;
}

const printNow = (report) => process.stdout.write(report);

if (build && spawnSync(process.execPath, ["scripts/prisma-generate.mjs"], { stdio: "inherit" }).status !== 0)
  process.exit(1);

if (command.length === 0) {
  const results = await Promise.all(LANES.map((each) => lane(each, printNow)));
  process.exit(results.every(Boolean) ? 0 : 1);
}

// Reports of the lanes that run beside the command are held until it has ended, so they never land in
// the middle of its output.
const held = [];
let holding = true;
const printLater = (report) => (holding ? held.push(report) : printNow(report));
const besideLanes = Promise.all(LANES.filter((each) => each.beside).map((each) => lane(each, printLater)));
const checksPassed = (
  await Promise.all(LANES.filter((each) => !each.beside).map((each) => lane(each, printNow)))
).every(Boolean);
let commandPassed = false;
if (checksPassed) {
  const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
  commandPassed = await new Promise((resolve) => {
    // A command that cannot start (not installed) fails the run with its reason; ESLint's report still follows.
    child.on("error", (error) => {
      process.stderr.write(`\n> ${command[0]}: could not start: ${error.message}\n`);
      resolve(false);
    });
    child.on("close", (code) => resolve(code === 0));
  });
}
holding = false;
for (const report of held) printNow(report);
const besidePassed = (await besideLanes).every(Boolean);
process.exit(checksPassed && commandPassed && besidePassed ? 0 : 1);
