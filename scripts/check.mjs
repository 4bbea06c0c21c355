/**
 * `npm run check`: the checks that keep the tree's shape, in two lanes at once (the machine has two
 * cores, and ESLint's type-checked rules alone take as long as the other three together): tsc, then
 * dependency-cruiser, then Prettier in one lane; ESLint in the other. Each check's output is printed
 * whole when it ends, under its name; the command fails when any check fails, after every lane ends.
 */
import { spawn } from "node:child_process";

const LANES = [["typecheck", "lint:layers", "format:check"], ["lint"]];

/** Runs `npm run <script>`, collecting its output; resolves to whether it passed. */
function run(script) {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const child = spawn("npm", ["run", "-s", script], { stdio: ["ignore", "pipe", "pipe"] });
    const output = [];
    child.stdout.on("data", (chunk) => output.push(chunk));
    child.stderr.on("data", (chunk) => output.push(chunk));
    child.on("close", (code) => {
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      process.stdout.write(`\n> ${script}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds} s\n`);
      process.stdout.write(Buffer.concat(output));
      resolve(code === 0);
    });
  });
}

async function lane(scripts) {
  let passed = true;
  // A lane goes on after a failure: every problem is reported in one run.
  for (const script of scripts) passed = (await run(script)) && passed;
  return passed;
}

const results = await Promise.all(LANES.map(lane));
process.exit(results.every(Boolean) ? 0 : 1);
