/**
 * `node scripts/run.mjs <entry.ts> [args…]`: runs one of our TypeScript programs (`npm start`:
 * server/main.ts; `npm run bench`: bench/run.ts) from its bundle (scripts/program-bundle.mjs), in this
 * process: a signal sent to it reaches the program itself.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { programBundle } from "./program-bundle.mjs";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("Usage: node scripts/run.mjs <entry.ts> [args…]");
  process.exit(2);
}
const file = await programBundle(entry);
// The program reads its arguments as if it had been started itself.
process.argv = [process.argv[0], path.resolve(entry), ...args];
process.setSourceMapsEnabled(true);
createRequire(import.meta.url)(file);
