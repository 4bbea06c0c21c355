/**
 * The panel's health in the shape operations teams already use:
 * `{ status, timestamp, version, checks: { database, redis, websocket, externalAPIs, diskSpace, memory } }`.
 * Each check is "healthy", "skipped" (not configured; never makes the panel unhealthy) or a reason.
 */
import fs from "node:fs/promises";
import v8 from "node:v8";

export const HEALTH_CHECKS = ["database", "redis", "websocket", "externalAPIs", "diskSpace", "memory"] as const;
export type HealthCheckName = (typeof HEALTH_CHECKS)[number];
export type CheckResult = "healthy" | "skipped" | (string & {});

export interface HealthReport {
  status: "healthy" | "unhealthy";
  timestamp: string;
  version: string;
  checks: Record<HealthCheckName, CheckResult>;
  issues?: { check: HealthCheckName; status: string }[];
}

export type HealthProbe = () => Promise<CheckResult>;

export function summarizeHealth(
  checks: Record<HealthCheckName, CheckResult>,
  version: string,
  now = new Date(),
): HealthReport {
  const issues = HEALTH_CHECKS.filter((name) => checks[name] !== "healthy" && checks[name] !== "skipped").map(
    (check) => ({ check, status: checks[check] }),
  );
  return {
    status: issues.length ? "unhealthy" : "healthy",
    timestamp: now.toISOString(),
    version,
    checks,
    ...(issues.length ? { issues } : {}),
  };
}

/** Runs a probe with a deadline; a probe that throws or hangs reports why. */
export async function runProbe(probe: HealthProbe, timeoutMs = 2000): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      probe(),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
      }),
    ]);
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

export function diskSpaceProbe(dir: string, minFreeMb: number): HealthProbe {
  return async () => {
    const stats = await fs.statfs(dir);
    const freeMb = Math.floor((stats.bavail * stats.bsize) / 1024 / 1024);
    return freeMb >= minFreeMb ? "healthy" : `only ${freeMb} MB free in ${dir} (minimum ${minFreeMb} MB)`;
  };
}

export function memoryProbe(maxHeapPercent: number): HealthProbe {
  return () => {
    const heap = v8.getHeapStatistics();
    const percent = Math.round((heap.used_heap_size / heap.heap_size_limit) * 100);
    return Promise.resolve(
      percent <= maxHeapPercent ? "healthy" : `heap at ${percent}% of its limit (maximum ${maxHeapPercent}%)`,
    );
  };
}

export async function checkHealth(
  probes: Record<HealthCheckName, HealthProbe>,
  version: string,
): Promise<HealthReport> {
  const entries = await Promise.all(HEALTH_CHECKS.map(async (name) => [name, await runProbe(probes[name])] as const));
  return summarizeHealth(Object.fromEntries(entries) as Record<HealthCheckName, CheckResult>, version);
}
