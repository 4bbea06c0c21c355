/** GET /health (the whole panel) and GET /api/v1/health/database (the database alone). */
import type { ServerResponse } from "node:http";
import type { Services } from "../services.ts";
import { checkHealth, diskSpaceProbe, memoryProbe, runProbe, type HealthProbe } from "../telemetry/health.ts";
import { sendJson } from "./request.ts";

export function databaseProbe(services: Services): HealthProbe {
  return async () => {
    await services.prisma.$queryRaw`SELECT 1`;
    return "healthy";
  };
}

/**
 * External APIs the panel depends on (the OIDC issuer when single sign-on is configured). Skipped when
 * none is configured.
 */
function externalApisProbe(services: Services): HealthProbe {
  return async () => {
    const oidc = services.config.auth.oidc;
    if (!oidc) return "skipped";
    const url = `${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(1500) });
    return response.ok ? "healthy" : `OIDC issuer answered ${response.status} at ${url}`;
  };
}

export async function handleHealth(res: ServerResponse, services: Services): Promise<void> {
  const { config, realtime } = services;
  const report = await checkHealth(
    {
      database: databaseProbe(services),
      redis: async () =>
        realtime ? realtime.redisHealth() : config.redisUrl ? "realtime server not started" : "skipped",
      websocket: async () => (realtime ? realtime.websocketHealth() : "realtime server not started"),
      externalAPIs: externalApisProbe(services),
      diskSpace: diskSpaceProbe(config.dataDir, config.health.minFreeDiskMb),
      memory: memoryProbe(config.health.maxHeapPercent),
    },
    config.version,
  );
  sendJson(res, report.status === "healthy" ? 200 : 503, report);
}

export async function handleDatabaseHealth(res: ServerResponse, services: Services): Promise<void> {
  const status = await runProbe(databaseProbe(services));
  sendJson(res, status === "healthy" ? 200 : 503, {
    status: status === "healthy" ? "healthy" : "unhealthy",
    database: status,
    timestamp: new Date().toISOString(),
  });
}
