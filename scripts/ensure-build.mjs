// `npm start` builds first when there is no production build, or when the sources it was built from
// have changed since (a fingerprint of the inputs is kept next to the build).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const INPUTS = [
  "app",
  "components",
  "lib",
  "public",
  "server/auth",
  "server/trpc",
  "next.config.js",
  "tsconfig.json",
  "package-lock.json",
];
const fingerprintFile = path.join(root, ".next", "greenlight-source-fingerprint");

function* files(entry) {
  const full = path.join(root, entry);
  if (!fs.existsSync(full)) return;
  if (fs.statSync(full).isFile()) {
    yield entry;
    return;
  }
  for (const child of fs.readdirSync(full).sort()) yield* files(path.join(entry, child));
}

export function sourceFingerprint() {
  const hash = createHash("sha256");
  for (const input of INPUTS)
    for (const file of files(input))
      hash
        .update(file)
        .update("\0")
        .update(fs.readFileSync(path.join(root, file)));
  return hash.digest("hex");
}

const fingerprint = sourceFingerprint();
const built =
  fs.existsSync(path.join(root, ".next", "BUILD_ID")) &&
  fs.existsSync(fingerprintFile) &&
  fs.readFileSync(fingerprintFile, "utf8") === fingerprint;
if (!built) {
  console.log("Building the panel (first start, or the sources changed)…");
  // `--client-generated`: the caller has just generated the Prisma client (scripts/check.mjs, which
  // builds while tsc and ESLint read that client, so it must not be written again meanwhile).
  if (!process.argv.includes("--client-generated")) {
    const generate = spawnSync(process.execPath, [path.join(root, "scripts/prisma-generate.mjs")], {
      cwd: root,
      stdio: "inherit",
    });
    if (generate.status !== 0) process.exit(generate.status ?? 1);
  }
  const result = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  fs.writeFileSync(fingerprintFile, fingerprint);
}
