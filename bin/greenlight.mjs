#!/usr/bin/env node
// The greenlight CLI for CI jobs (cli/main.ts). The TypeScript sources are the program, loaded
// through tsx (`node --import tsx`); `npx greenlight --help` lists the commands.
import "tsx";

// tsx compiles the sources as CommonJS (the package declares no "type"): its exports may arrive as the default.
const cli = await import("../cli/main.ts");
const { run } = cli.run ? cli : cli.default;
process.exitCode = await run(process.argv.slice(2), process.env);
