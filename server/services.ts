/** The long-lived parts of a running panel, handed to request handlers and procedures. */
import type { Logger } from "pino";
import type { AuditCheckpointSink } from "./audit/checkpoint-sink.ts";
import type { Config } from "./config.ts";
import type { Database } from "./db/open.ts";
import type { PrismaClient } from "./db/generated/client.ts";
import type { PanelEvents } from "./realtime/events.ts";
import type { Realtime } from "./realtime/server.ts";
import type { Notifier } from "./governance/notifications.ts";
import type { SecurityMonitor } from "./governance/security-monitor.ts";
import type { StartGuard } from "./releases/commands.ts";
import type { DeploymentReads } from "./releases/deployment-reads.ts";
import type { Reconciler } from "./releases/reconciler.ts";
import type { TargetRegistry } from "./targets/registry.ts";
import type { PanelMetrics } from "./telemetry/metrics.ts";
import type { MetricsPipeline } from "./telemetry/samples.ts";

export interface AuthSettings {
  secret: string;
  /** The URL people reach the panel at; next-auth builds its redirects from it. */
  publicUrl: string;
  secureCookies: boolean;
  maxAgeSeconds: number;
}

export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  prisma: PrismaClient;
  auth: AuthSettings;
  metrics: PanelMetrics;
  events: PanelEvents;
  realtime: Realtime | null;
  targets: TargetRegistry;
  reconciler: Reconciler;
  /** The deployment page's read, shared by everyone watching a deployment. */
  deploymentReads: DeploymentReads;
  metricsPipeline: MetricsPipeline;
  /** Checks a deployment must pass to start, beyond the engine's own (governance adds its here). */
  startGuards: StartGuard[];
  notifier: Notifier;
  security: SecurityMonitor;
  /** Signed checkpoints of the audit chain, outside the database. */
  auditCheckpoints: AuditCheckpointSink;
}
