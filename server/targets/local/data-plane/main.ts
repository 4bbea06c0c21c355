/**
 * The local data plane as a process of its own, started and supervised by the panel's local target
 * (it is recorded before it starts, adopted after a panel restart, stopped on a clean stop).
 *
 * Configured by environment:
 *   GREENLIGHT_TOKEN                  proves to the panel that this process is the one it started
 *   HOST                              interface for the control port and the proxies (default 127.0.0.1)
 *   PORT                              control port (0 = any); prints `GREENLIGHT_LISTENING <port>`
 *   GREENLIGHT_PARENT_PID             the panel that started it
 *   GREENLIGHT_ORPHAN_GRACE_SECONDS   when the panel is gone, how long to keep serving without
 *                                     hearing from anyone who knows the token (default 300)
 *   LOG_LEVEL                         pino level for its stderr (default warn)
 */
import pino from "pino";
import { DataPlane } from "./data-plane.ts";

// The panel may die while we run (that is what adoption is for): writing to its closed pipes must not kill us.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

const token = process.env.GREENLIGHT_TOKEN ?? "";
if (token.length < 16) {
  console.error("data plane: GREENLIGHT_TOKEN must be set (16 characters or more)");
  process.exit(2);
}
const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT ?? 0);
const parentPid = Number(process.env.GREENLIGHT_PARENT_PID) || process.ppid;
const graceSeconds =
  Number(process.env.GREENLIGHT_ORPHAN_GRACE_SECONDS) > 0 ? Number(process.env.GREENLIGHT_ORPHAN_GRACE_SECONDS) : 300;
const log = pino(
  { level: process.env.LOG_LEVEL ?? "warn", base: { component: "data-plane", pid: process.pid } },
  pino.destination(2),
);

const plane = new DataPlane({ token, host, log });
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Never more than a few seconds, whatever a proxy's clients are doing.
  setTimeout(() => process.exit(code), 3000).unref();
  await plane.close(1000).catch(() => {});
  process.exit(code);
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));

// Orphan watchdog: once the panel that started us is gone, stay only while someone who knows the
// token keeps talking to us (a restarted panel adopting us). The grace counts from the later of the
// last contact and the moment we noticed we were orphaned.
let orphanedAt = 0;
setInterval(
  () => {
    if (process.ppid === parentPid) return;
    const now = Date.now();
    if (!orphanedAt) orphanedAt = now;
    if (now - Math.max(orphanedAt, plane.lastContactAt) >= graceSeconds * 1000) {
      log.warn(
        { parentPid, graceSeconds },
        "the panel is gone and nobody asked for us within the grace period; exiting",
      );
      void stop(0);
    }
  },
  Math.min(1000, Math.max(100, (graceSeconds * 1000) / 4)),
).unref();

plane.listen(port).then(
  (listening) => process.stdout.write(`GREENLIGHT_LISTENING ${listening}\n`),
  (error: Error) => {
    console.error(`data plane: cannot listen: ${error.message}`);
    process.exit(1);
  },
);
