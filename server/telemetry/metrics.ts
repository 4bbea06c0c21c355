/**
 * Prometheus metrics (prom-client), one registry per panel instance: HTTP durations by route,
 * open WebSocket connections, reconciler passes and leases, and the process metrics prom-client
 * collects by default.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface PanelMetrics {
  registry: Registry;
  httpDuration: Histogram<"method" | "route" | "status_code">;
  openSockets: Gauge;
  auditEvents: Counter<"action">;
  passwordChecks: Counter;
  reconciler: ReconcilerMetrics;
}

/** The reconciler's own figures: how long passes take and how they end, and the leases it holds. */
export interface ReconcilerMetrics {
  passDuration: Histogram<"outcome">;
  /** What each pass decided: wait, setWeights, transition:<status>, … */
  actions: Counter<"kind">;
  leases: Gauge;
}

export function createMetrics(): PanelMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "Duration of HTTP requests served by the panel, by route",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    openSockets: new Gauge({
      name: "greenlight_websocket_connections",
      help: "Open Socket.io connections",
      registers: [registry],
    }),
    auditEvents: new Counter({
      name: "greenlight_audit_events_total",
      help: "Audit events written, by action",
      labelNames: ["action"],
      registers: [registry],
    }),
    passwordChecks: new Counter({
      name: "greenlight_password_checks_total",
      help: "Passwords compared against a stored hash (sign-in attempts the throttle let through)",
      registers: [registry],
    }),
    reconciler: {
      passDuration: new Histogram({
        name: "greenlight_reconciler_pass_duration_seconds",
        help: "Duration of reconciler passes, by outcome (ok, error, deadline: aborted at the pass deadline)",
        labelNames: ["outcome"],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
      actions: new Counter({
        name: "greenlight_reconciler_actions_total",
        help: "Actions the reconciler's passes took, by kind (transition:<status> for transitions)",
        labelNames: ["kind"],
        registers: [registry],
      }),
      leases: new Gauge({
        name: "greenlight_reconciler_leases",
        help: "Active deployments this instance holds the lease of (drives)",
        registers: [registry],
      }),
    },
  };
}

/**
 * A low-cardinality route label for a request path: API routes keep their shape, everything the
 * UI serves collapses to a few buckets. Unknown paths never create new label values.
 */
export function routeLabel(pathname: string, knownProcedures: ReadonlySet<string>): string {
  if (pathname === "/health" || pathname === "/metrics" || pathname === "/api/v1/health/database") return pathname;
  if (pathname.startsWith("/api/trpc/")) {
    let names: string[];
    try {
      names = decodeURIComponent(pathname.slice("/api/trpc/".length)).split(",");
    } catch {
      return "/api/trpc/(unknown)";
    }
    if (names.length > 1) return "/api/trpc/(batch)";
    return knownProcedures.has(names[0]!) ? `/api/trpc/${names[0]}` : "/api/trpc/(unknown)";
  }
  if (pathname.startsWith("/api/auth/")) {
    const action = pathname.split("/")[3] ?? "";
    return ["signin", "signout", "callback", "session", "csrf", "providers", "error"].includes(action)
      ? `/api/auth/${action}`
      : "/api/auth/(unknown)";
  }
  if (pathname === "/api/v1/audit/export" || pathname === "/api/v1/audit/verify") return pathname;
  if (/^\/api\/v1\/releases\/[^/]+\/evidence$/.test(pathname)) return "/api/v1/releases/:id/evidence";
  if (pathname.startsWith("/api/")) return "/api/(other)";
  if (pathname.startsWith("/_next/")) return "/_next";
  if (pathname.startsWith("/socket.io/")) return "/socket.io";
  return "(page)";
}
