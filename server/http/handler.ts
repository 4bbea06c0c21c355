/**
 * The panel's HTTP front door: every request gets a trace id, the security headers and a duration
 * metric, then goes to the panel's own routes (health, metrics, auth, tRPC) or to Next.js.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readSession, type SessionUser } from "../auth/session.ts";
import type { Services } from "../services.ts";
import { currentTrace, runWithTrace, traceIdFromHeaders } from "../telemetry/context.ts";
import { REALTIME_PATH } from "../realtime/server.ts";
import { routeLabel } from "../telemetry/metrics.ts";
import { handleAuditRoute } from "./audit-routes.ts";
import { handleAuthRoute } from "./auth-route.ts";
import { handleDatabaseHealth, handleHealth } from "./health-route.ts";
import { handleMetrics } from "./metrics-route.ts";
import { handlePage, publicFiles, type NextRequestHandler } from "./pages.ts";
import { handlePipelineApi, matchPipelineRoute } from "./pipeline-api.ts";
import { clientIp, HttpError, sendJson } from "./request.ts";
import { applySecurityHeaders, contentSecurityPolicy, newNonce } from "./security-headers.ts";
import { parseRequestTarget } from "./request-target.ts";
import { checkSameOrigin, type OriginPolicy } from "./same-origin.ts";
import { handleTrpc, PROCEDURE_PATHS } from "./trpc-route.ts";

export interface RequestHandlerOptions {
  /** Next.js's request handler, or null when the panel serves its API only (SERVE_UI=false). */
  next: NextRequestHandler | null;
}

const QUIET_ROUTES = new Set(["/health", "/metrics", "/_next", "/api/v1/health/database", "/socket.io"]);

/** Where the panel takes requests from for acting on a session cookie (see same-origin.ts). */
export function originPolicy(config: Services["config"]): OriginPolicy {
  return {
    trustProxy: config.trustProxy,
    publicOrigin: config.auth.publicUrl ? new URL(config.auth.publicUrl).origin : null,
  };
}

export function createRequestHandler(services: Services, options: RequestHandlerOptions) {
  const { config, log, metrics } = services;
  const files = publicFiles(config.rootDir);
  const origins = originPolicy(config);

  /** A request acting on the session cookie must come from the panel's own pages. */
  function refuseOtherOrigins(req: IncomingMessage): void {
    const decision = checkSameOrigin(req.headers, origins);
    if (!decision.ok) throw new HttpError(403, `Cross-site request refused: ${decision.reason}`);
  }

  async function sessionOf(req: IncomingMessage): Promise<SessionUser | null> {
    const user = await readSession(services.prisma, req.headers.cookie, {
      secret: services.auth.secret,
      maxAgeSeconds: services.auth.maxAgeSeconds,
      secureCookies: services.auth.secureCookies,
    });
    const trace = currentTrace();
    if (trace && user) trace.userId = user.id;
    return user;
  }

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    csp: string,
    traceId: string,
  ): Promise<void> {
    const ip = clientIp(req, config.trustProxy);
    const { pathname } = url;
    if (pathname === "/health") return handleHealth(res, services);
    if (pathname === "/api/v1/health/database") return handleDatabaseHealth(res, services);
    if (pathname === "/metrics") return handleMetrics(req, res, services);
    if (pathname.startsWith("/api/auth/")) return handleAuthRoute(req, res, url, services, { ip, traceId });
    if (pathname === REALTIME_PATH) {
      refuseOtherOrigins(req);
      if (!services.realtime) throw new HttpError(503, "The real-time channel is not started yet");
      return services.realtime.handleRequest(req, res);
    }
    if (pathname.startsWith("/api/trpc/")) {
      // Mutations change things; a cookie-authenticated one must not be another site's doing.
      if (req.method === "POST" && req.headers.cookie) refuseOtherOrigins(req);
      return handleTrpc(req, res, url, services, { ip, traceId, user: await sessionOf(req) });
    }
    const pipeline = matchPipelineRoute(req.method, pathname);
    if (pipeline) return handlePipelineApi(req, res, url, pipeline, services, { ip, traceId });
    if (pathname.startsWith("/api/v1/audit/"))
      return handleAuditRoute(req, res, url, services, { ip, traceId, user: await sessionOf(req) });
    if (pathname.startsWith("/api/")) throw new HttpError(404, `No API route at ${pathname}`);
    if (!options.next) throw new HttpError(404, "This panel instance serves the API only (SERVE_UI=false)");
    const user = pathname.startsWith("/_next/") ? null : await sessionOf(req);
    return handlePage(req, res, url, { next: options.next, user, csp, publicFiles: files });
  }

  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const traceId = traceIdFromHeaders(req.headers);
    const csp = contentSecurityPolicy(newNonce(), config.dev);
    applySecurityHeaders(res, csp);
    res.setHeader("X-Request-Id", traceId);
    const target = parseRequestTarget(req.url);
    const route = target.ok ? routeLabel(target.url.pathname, PROCEDURE_PATHS) : "(malformed)";
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpDuration.observe(
        { method: req.method ?? "GET", route, status_code: String(res.statusCode) },
        seconds,
      );
      const line = {
        action: "http.request",
        metadata: { method: req.method, route, status: res.statusCode, durationMs: Math.round(seconds * 1000) },
      };
      runWithTrace({ traceId }, () =>
        QUIET_ROUTES.has(route)
          ? log.debug(line, `${req.method} ${route} ${res.statusCode}`)
          : log.info(line, `${req.method} ${route} ${res.statusCode}`),
      );
    });
    if (!target.ok) {
      // Answered before any route runs: nothing downstream ever sees a target it cannot parse.
      sendJson(res, 400, { error: `Bad request: ${target.reason}` }, { Connection: "close" });
      return;
    }
    const url = target.url;
    runWithTrace({ traceId }, () => {
      dispatch(req, res, url, csp, traceId).catch((error: unknown) => {
        if (error instanceof HttpError) {
          const body = error.field ? { error: error.message, field: error.field } : { error: error.message };
          if (!res.headersSent) sendJson(res, error.status, body, error.headers);
          return;
        }
        log.error(
          { action: "http.error", metadata: { path: url.pathname, error } },
          "Unhandled error while serving a request",
        );
        if (!res.headersSent) sendJson(res, 500, { error: "Internal error", traceId });
        else res.destroy();
      });
    });
  };
}
