/**
 * GET /metrics: Prometheus text. With METRICS_TOKEN set, only a scraper bearing that token gets it
 * (`Authorization: Bearer <token>`); the comparison takes the same time whatever the guess.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Services } from "../services.ts";
import { HttpError } from "./request.ts";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Whether an Authorization header bears the token. */
export function bearsToken(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

export async function handleMetrics(req: IncomingMessage, res: ServerResponse, services: Services): Promise<void> {
  const token = services.config.metricsToken;
  if (token !== undefined && !bearsToken(req.headers.authorization, token)) {
    throw new HttpError(401, "/metrics needs the metrics token: send Authorization: Bearer <METRICS_TOKEN>", {
      "WWW-Authenticate": 'Bearer realm="greenlight-metrics"',
    });
  }
  res.writeHead(200, { "Content-Type": services.metrics.registry.contentType, "Cache-Control": "no-store" });
  res.end(await services.metrics.registry.metrics());
}
