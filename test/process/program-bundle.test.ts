/**
 * scripts/program-bundle.mjs and scripts/run.mjs, which `npm start`, `npm run bench` and every panel the
 * tests start go through: a program run from its bundle finds its files where its sources are, reads
 * its own arguments, and is built again when any file it was built from changes (a stale bundle would
 * run yesterday's panel without a word).
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { programBundle } from "../../scripts/program-bundle.mjs";
import { ROOT } from "../helpers/process.ts";

let project: string;

/** A program in a project of its own: its entry imports a module that reads a file next to itself. */
beforeAll(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-bundle-"));
  fs.mkdirSync(path.join(project, "program/parts"), { recursive: true });
  fs.writeFileSync(
    path.join(project, "program/main.ts"),
    `import { greeting } from "./parts/greeting.ts";\nconsole.log(JSON.stringify({ greeting: greeting(), argv: process.argv.slice(2) }));\n`,
  );
  fs.writeFileSync(
    path.join(project, "program/parts/greeting.ts"),
    `import fs from "node:fs";\nimport path from "node:path";\nexport const greeting = (): string => fs.readFileSync(path.join(__dirname, "words.txt"), "utf8").trim() + " from " + __filename;\n`,
  );
  fs.writeFileSync(path.join(project, "program/parts/words.txt"), "hello\n");
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

const run = (file: string, ...args: string[]) =>
  JSON.parse(execFileSync(process.execPath, [file, ...args], { encoding: "utf8" })) as {
    greeting: string;
    argv: string[];
  };

describe("a program's bundle", () => {
  it("gives each module its source's own directory and file name, not the bundle's", async () => {
    const file = await programBundle("program/main.ts", { root: project });
    expect(path.dirname(file)).toBe(path.join(project, ".cache/programs"));
    expect(run(file).greeting).toBe(`hello from ${path.join(project, "program/parts/greeting.ts")}`);
  });

  it("is reused while its sources are unchanged, and built again when any of them changes", async () => {
    const file = await programBundle("program/main.ts", { root: project });
    const builtAt = fs.statSync(file).mtimeMs;
    expect(await programBundle("program/main.ts", { root: project })).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(builtAt);

    // A module the entry imports, not the entry itself.
    const greeting = path.join(project, "program/parts/greeting.ts");
    fs.writeFileSync(greeting, fs.readFileSync(greeting, "utf8").replace(`" from "`, `" again from "`));
    await programBundle("program/main.ts", { root: project });
    expect(run(file).greeting).toMatch(/^hello again from /);
  });
});

describe("scripts/run.mjs", () => {
  it("runs the program with its own arguments, and its stack traces name the TypeScript sources", () => {
    const result = spawnSync(process.execPath, ["scripts/run.mjs", "bench/run.ts", "nonsense", "--runs", "1"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    // The benchmark's name is its first argument: it was given "nonsense", not "bench/run.ts".
    expect(result.stderr).toContain('Unknown benchmark "nonsense".');
    expect(result.stderr).toMatch(new RegExp(`at main \\(${path.join(ROOT, "bench/run.ts")}:\\d+:\\d+\\)`));
  });
});
