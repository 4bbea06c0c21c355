/**
 * The panel's HTTP front door: every request gets a trace id, the security headers and a duration
 * metric, then goes to the panel's own routes (health, metrics, auth, tRPC) or to Next.js.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readSession, type SessionUser } from "../auth/session.ts";
import type { Services } from "../services.ts";
import { currentTrace, runWithTrace, traceIdFromHeaders } from "../telemetry/context.ts";
import { routeLabel } from "../telemetry/metrics.ts";
import { handleAuditRoute } from "./audit-routes.ts";
import { handleAuthRoute } from "./auth-route.ts";
import { EVIDENCE_ROUTE, handleEvidence } from "./evidence-route.ts";
import { handleDatabaseHealth, handleHealth } from "./health-route.ts";
import { handlePage, publicFiles, type NextRequestHandler } from "./pages.ts";
import { clientIp, HttpError, sendJson } from "./request.ts";
import { applySecurityHeaders, contentSecurityPolicy, newNonce } from "./security-headers.ts";
import { handleTrpc, PROCEDURE_PATHS } from "./trpc-route.ts";

export interface RequestHandlerOptions {
  /** Next.js's request handler, or null when the panel serves its API only (SERVE_UI=false). */
  next: NextRequestHandler | null;
}

const QUIET_ROUTES = new Set(["/health", "/metrics", "/_next", "/api/v1/health/database"]);

export function createRequestHandler(services: Services, options: RequestHandlerOptions) {
  const { config, log, metrics } = services;
  const files = publicFiles(config.rootDir);

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

  async function dispatch(req: IncomingMessage, res: ServerResponse, url: URL, csp: string, traceId: string): Promise<void> {
    const ip = clientIp(req, config.trustProxy);
    const { pathname } = url;
    if (pathname === "/health") return handleHealth(res, services);
    if (pathname === "/api/v1/health/database") return handleDatabaseHealth(res, services);
    if (pathname === "/metrics") {
      res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" });
      res.end(await metrics.registry.metrics());
      return;
    }
    if (pathname.startsWith("/api/auth/")) return handleAuthRoute(req, res, url, services, { ip, traceId });
    if (pathname.startsWith("/api/trpc/")) {
      refuseCrossSiteWrites(req);
      return handleTrpc(req, res, url, services, { ip, traceId, user: await sessionOf(req) });
    }
    const evidence = EVIDENCE_ROUTE.exec(pathname);
    if (evidence) return handleEvidence(req, res, evidence[1]!, services, { ip, traceId });
    if (pathname.startsWith("/api/v1/audit/")) return handleAuditRoute(req, res, url, services, { ip, traceId, user: await sessionOf(req) });
    if (pathname.startsWith("/api/")) throw new HttpError(404, `No API route at ${pathname}`);
    if (!options.next) throw new HttpError(404, "This panel instance serves the API only (SERVE_UI=false)");
    const user = pathname.startsWith("/_next/") ? null : await sessionOf(req);
    return handlePage(req, res, url, { next: options.next, user, csp, publicFiles: files });
  }

  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const traceId = traceIdFromHeaders(req.headers);
    const url = new URL(req.url ?? "/", "http://panel.invalid");
    const csp = contentSecurityPolicy(newNonce(), config.dev);
    applySecurityHeaders(res, csp);
    res.setHeader("X-Request-Id", traceId);
    const route = routeLabel(url.pathname, PROCEDURE_PATHS);
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpDuration.observe({ method: req.method ?? "GET", route, status_code: String(res.statusCode) }, seconds);
      const line = { action: "http.request", metadata: { method: req.method, route, status: res.statusCode, durationMs: Math.round(seconds * 1000) } };
      runWithTrace({ traceId }, () => (QUIET_ROUTES.has(route) ? log.debug(line, `${req.method} ${route} ${res.statusCode}`) : log.info(line, `${req.method} ${route} ${res.statusCode}`)));
    });
    runWithTrace({ traceId }, () => {
      dispatch(req, res, url, csp, traceId).catch((error: unknown) => {
        if (error instanceof HttpError) {
          if (!res.headersSent) sendJson(res, error.status, { error: error.message }, error.headers);
          return;
        }
        log.error({ action: "http.error", metadata: { path: url.pathname, error } }, "Unhandled error while serving a request");
        if (!res.headersSent) sendJson(res, 500, { error: "Internal error", traceId });
        else res.destroy();
      });
    });
  };
}

/** Browsers send Origin on cross-site writes; a write from another site is refused outright. */
function refuseCrossSiteWrites(req: IncomingMessage): void {
  if (req.method !== "POST") return;
  const origin = req.headers.origin;
  if (!origin) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError(403, "Cross-site request refused: malformed Origin header");
  }
  if (host !== req.headers.host && host !== req.headers["x-forwarded-host"]) throw new HttpError(403, "Cross-site request refused");
}
