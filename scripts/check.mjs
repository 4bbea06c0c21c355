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
 *
 * More commands, each after its own `--` (`npm test`: Playwright), start at the same moment and run
 * beside the first. The suite is CPU-bound on two cores and each tier waits on clocks (bakes, polls,
 * scrapes) for part of its time; run one after the other, a core stood idle for about a tenth of the
 * run. The first command's output is shown as it comes; each other's is held until the first has
 * ended (their lines would land in the middle of its report), then shown whole, and as it comes after that.
 */
import { spawn, spawnSync } from "node:child_process";

const build = process.argv.includes("--build");
/** The commands after the checks, each after its own `--`. */
const commands = [];
let current = null;
for (const arg of process.argv.slice(2)) {
  if (arg === "--") commands.push((current = []));
  else if (current) current.push(arg);
}
const npmRun = (script) => ({ name: script, command: "npm", args: ["run", "-s", script] });
/** Lanes run at once; the checks of a lane one after the other. `beside`: may outlast the checks, running beside the commands. */
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

if (commands.length === 0) {
  const results = await Promise.all(LANES.map((each) => lane(each, printNow)));
  process.exit(results.every(Boolean) ? 0 : 1);
}

/**
 * Runs a command. `held`: its output is kept until `release` resolves, then written whole and as it
 * comes. Resolves to whether it exited 0. A command that cannot start (not installed) fails with its reason.
 */
function runCommand([name, ...args], release) {
  const child = spawn(name, args, { stdio: release ? ["ignore", "pipe", "pipe"] : "inherit" });
  if (release) {
    const held = [];
    let holding = true;
    const write = (stream) => (chunk) => (holding ? held.push([stream, chunk]) : stream.write(chunk));
    child.stdout.on("data", write(process.stdout));
    child.stderr.on("data", write(process.stderr));
    void release.then(() => {
      holding = false;
      for (const [stream, chunk] of held) stream.write(chunk);
    });
  }
  const exited = new Promise((resolve) => {
    child.on("error", (error) => {
      process.stderr.write(`\n> ${name}: could not start: ${error.message}\n`);
      resolve(false);
    });
    child.on("close", (code) => resolve(code === 0));
  });
  // A held command's result counts once its output has been shown.
  return release ? Promise.all([exited, release]).then(([passed]) => passed) : exited;
}

// Reports of the lanes that run beside the commands are held until the first command has ended, so
// they never land in the middle of its output.
const held = [];
let holding = true;
const printLater = (report) => (holding ? held.push(report) : printNow(report));
const besideLanes = Promise.all(LANES.filter((each) => each.beside).map((each) => lane(each, printLater)));
const checksPassed = (
  await Promise.all(LANES.filter((each) => !each.beside).map((each) => lane(each, printNow)))
).every(Boolean);
let commandsPassed = false;
if (checksPassed) {
  const [first, ...others] = commands;
  const firstRun = runCommand(first, null);
  const firstEnded = firstRun.then(() => {
    holding = false;
    for (const report of held.splice(0)) printNow(report);
  });
  const results = await Promise.all([firstRun, ...others.map((command) => runCommand(command, firstEnded))]);
  commandsPassed = results.every(Boolean);
}
holding = false;
for (const report of held.splice(0)) printNow(report);
const besidePassed = (await besideLanes).every(Boolean);
process.exit(checksPassed && commandsPassed && besidePassed ? 0 : 1);
