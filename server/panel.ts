/**
 * Starting and stopping one panel instance: logger, database (migrated), session secret, demo users,
 * Next.js, the HTTP front door and Socket.io, all on one port. Used by main.ts and by tests that run
 * a panel in-process.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { DestinationStream } from "pino";
import { AuditCheckpointSink } from "./audit/checkpoint-sink.ts";
import { loadOrCreateCheckpointKey } from "./audit/checkpoint-key.ts";
import { startAuditRetention } from "./audit/retention.ts";
import { seedDemoUsers, type DemoCredential } from "./auth/demo-users.ts";
import { MIN_PRODUCTION_BCRYPT_COST } from "./auth/passwords.ts";
import { loadOrCreateSecret } from "./auth/secret.ts";
import { pruneSessions, readSession } from "./auth/session.ts";
import { pruneSignInFailures } from "./auth/throttle.ts";
import { exportNextAuthUrl, exportNodeEnv, type Config } from "./config.ts";
import { migrateDatabase, openDatabase, type Database } from "./db/open.ts";
import { answerClientError } from "./http/client-error.ts";
import { createRequestHandler, originPolicy } from "./http/handler.ts";
import { RAW_SECURITY_HEADERS } from "./http/raw-answer.ts";
import { createUpgradeListener, type UpgradeListener } from "./http/upgrade.ts";
import type { NextRequestHandler } from "./http/pages.ts";
import { createPanelEvents } from "./realtime/events.ts";
import { Notifier } from "./governance/notifications.ts";
import { NoticeScheduler } from "./governance/scheduler.ts";
import { ScheduledStarts } from "./scheduled-starts.ts";
import { SecurityMonitor } from "./governance/security-monitor.ts";
import { governanceGuard, windowStepHold } from "./governance/start-guard.ts";
import type { GateRule } from "./releases/judge/judge.ts";
import { DeploymentReads } from "./releases/deployment-reads.ts";
import { Reconciler } from "./releases/reconciler.ts";
import { LocalTarget } from "./targets/local/local-target.ts";
import { createTargetRegistry, reconcilerTargets } from "./targets/registry.ts";
import { CloudWatchFeed } from "./telemetry/cloudwatch-feed.ts";
import { MetricsPipeline } from "./telemetry/samples.ts";
import { attachRealtime } from "./realtime/server.ts";
import type { Services } from "./services.ts";
import { createLogger, openRotatingLogFile } from "./telemetry/logger.ts";
import { createMetrics } from "./telemetry/metrics.ts";
import { registerDeliveryMetrics } from "./delivery/prometheus.ts";

/** How long one part of the panel may take to stop before the rest goes on without it. */
const CLOSE_TIMEOUT_MS = 5000;

export interface Panel {
  url: string;
  port: number;
  services: Services;
  /** Demo sign-ins created by this start (first start of the embedded default), else empty. */
  demoUsers: DemoCredential[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra log destinations (tests capture log lines here). */
  logStreams?: DestinationStream[];
  /** Set false to keep log lines off standard output. */
  logToStdout?: boolean;
  /** An already-open database to use instead of the configured one (tests); the panel closes it. */
  database?: Database;
  /** The rule that judges deployment steps (benchmarks compare the old threshold rule); default: the judge. */
  gateRule?: GateRule;
}

export class MissingBuildError extends Error {
  constructor(dir: string) {
    super(`No production build in ${dir}. Run "npm run build" first (npm start does this for you).`);
    this.name = "MissingBuildError";
  }
}

export async function startPanel(config: Config, options: StartOptions = {}): Promise<Panel> {
  exportNodeEnv(config.env);
  const streams = [...(options.logStreams ?? [])];
  if (config.log.file) streams.push(await openRotatingLogFile(config.log.file));
  const log = createLogger({ level: config.log.level, streams, stdout: options.logToStdout });
  const closers: (() => Promise<unknown>)[] = [];
  // A part that cannot finish stopping (its database is gone) must not keep the rest from stopping.
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">(
        (resolve) => (timer = setTimeout(() => resolve("timeout"), CLOSE_TIMEOUT_MS)),
      );
      const outcome = await Promise.race([
        close().catch((error: unknown) =>
          log.warn({ action: "panel.close_error", metadata: { error } }, "Error while stopping"),
        ),
        timedOut,
      ]);
      clearTimeout(timer);
      if (outcome === "timeout")
        log.warn(
          { action: "panel.close_timeout", metadata: { ms: CLOSE_TIMEOUT_MS } },
          "A part of the panel did not stop in time; going on without it",
        );
    }
  };

  try {
    if (config.serveUi && !config.dev && !fs.existsSync(path.join(config.rootDir, ".next", "BUILD_ID")))
      throw new MissingBuildError(path.join(config.rootDir, ".next"));

    const db =
      options.database ??
      (await openDatabase(
        config.database.kind === "pglite" ? { kind: "pglite", dataDir: config.database.dataDir } : config.database,
      ));
    closers.push(() => db.close());
    const migrations = await migrateDatabase(db, (name, ms) =>
      log.info({ action: "db.migration_applied", metadata: { name, ms } }, `Applied migration ${name}`),
    );
    log.info(
      {
        action: "db.ready",
        metadata: { kind: db.kind, applied: migrations.applied.length, alreadyApplied: migrations.alreadyApplied },
      },
      `Database ready (${db.kind})`,
    );

    const secret = config.auth.secret ?? loadOrCreateSecret(config.dataDir).secret;
    const { bcryptCost } = config.auth;
    if (bcryptCost < MIN_PRODUCTION_BCRYPT_COST)
      log.warn(
        { action: "auth.weak_password_hashing", metadata: { bcryptCost } },
        `BCRYPT_COST=${bcryptCost} is below ${MIN_PRODUCTION_BCRYPT_COST}: new password hashes are quick to crack; use it for test suites only`,
      );
    const demoUsers = config.seedDemoUsers ? await seedDemoUsers(db.prisma, { onlyIfEmpty: true, bcryptCost }) : [];

    const events = createPanelEvents();
    // The local target's processes and proxies come back first: live environments serve again
    // before any deployment is reconciled.
    const local = new LocalTarget({
      prisma: db.prisma,
      log,
      ...(config.localTarget.command ? { command: config.localTarget.command } : {}),
      // Traffic the data plane served while the panel was down reaches the charts too.
      resumeAfter: async () => (await db.prisma.metricSample.aggregate({ _max: { at: true } }))._max.at,
    });
    closers.push(() => local.stop());
    await local.start();
    const targets = createTargetRegistry({ local, prisma: db.prisma, log });
    for (const env of await db.prisma.environment.findMany()) await targets.prepareEnvironment(env);
    const metricsPipeline = new MetricsPipeline({ prisma: db.prisma, log, events });
    local.onSecond((sample) => metricsPipeline.record(sample));
    metricsPipeline.start();
    closers.push(() => metricsPipeline.stop());
    // ECS environments' charts, availability and alerts: CloudWatch's periods through the same pipeline.
    const cloudWatchFeed = new CloudWatchFeed({
      prisma: db.prisma,
      log,
      ecs: targets.ecs,
      record: (sample) => metricsPipeline.record(sample),
    });
    cloudWatchFeed.start();
    closers.push(() => cloudWatchFeed.stop());
    const metrics = createMetrics();
    const reconciler = new Reconciler({
      prisma: db.prisma,
      log,
      events,
      ...reconcilerTargets(targets),
      stepHold: (d, now) => windowStepHold(d.governance, now),
      metrics: metrics.reconciler,
      passDeadlineMs: config.passDeadlineSeconds * 1000,
      trafficGuard: config.trafficGuard,
      ...(options.gateRule ? { gateRule: options.gateRule } : {}),
    });
    const notifier = new Notifier({
      prisma: db.prisma,
      log,
      events,
      webhookUrl: config.notifications.webhookUrl,
      smtpUrl: config.notifications.smtpUrl,
      smtpFrom: config.notifications.smtpFrom,
      publicUrl: () => services.auth.publicUrl,
    });
    closers.push(() => Promise.resolve(notifier.close()));
    events.notify = (notice) => {
      // Critical alerts go to the people who act on them.
      void notifier
        .usersWithRoles(["oncall", "cto", "admin", "release_manager"])
        .then((recipients) =>
          notifier.notify(recipients, {
            kind: notice.kind,
            title: notice.title,
            body: notice.body,
            link: "/",
            external: notice.severity === "critical",
          }),
        )
        .catch((error: unknown) => log.warn({ action: "notify.failed", metadata: { error } }, "Could not notify"));
    };
    const security = new SecurityMonitor({ prisma: db.prisma, events, notifier });
    const auditCheckpoints = new AuditCheckpointSink({
      prisma: db.prisma,
      log,
      key: loadOrCreateCheckpointKey(config.auditCheckpoints.key, config.dataDir).key,
      file: config.auditCheckpoints.file,
      policy: {
        everyEvents: config.auditCheckpoints.everyEvents,
        everyMs: config.auditCheckpoints.everySeconds * 1000,
      },
      webhookUrl: config.auditCheckpoints.webhookUrl,
      // A cut or rewritten audit log is told to the people who act on it, at once.
      onMismatch: (detail) =>
        void notifier
          .usersWithRoles(["admin", "auditor", "security_reviewer"])
          .then((recipients) =>
            notifier.notify(recipients, {
              kind: "audit.chain_mismatch",
              title: "The audit log no longer matches its signed checkpoint",
              body: detail,
              link: "/audit",
              external: true,
            }),
          )
          .catch((error: unknown) => log.warn({ action: "notify.failed", metadata: { error } }, "Could not notify")),
    });
    const scheduler = new NoticeScheduler({
      prisma: db.prisma,
      log,
      notifier,
      intervalMs: config.schedulerIntervalSeconds * 1000,
    });

    const services: Services = {
      config,
      log,
      db,
      prisma: db.prisma,
      // Completed once the server listens and its URL is known.
      auth: {
        secret,
        publicUrl: config.auth.publicUrl ?? "",
        secureCookies: (config.auth.publicUrl ?? "").startsWith("https:"),
        maxAgeSeconds: config.auth.sessionMaxAgeSeconds,
      },
      metrics,
      events,
      realtime: null,
      targets,
      reconciler,
      deploymentReads: new DeploymentReads(db.prisma),
      metricsPipeline,
      startGuards: [(tx, context) => governanceGuard(tx, context)],
      notifier,
      security,
      auditCheckpoints,
    };

    registerDeliveryMetrics(services.metrics.registry, db.prisma);

    const server = http.createServer({ keepAliveTimeout: 65_000 });
    let next: NextRequestHandler | null = null;
    let nextUpgrade: UpgradeListener | null = null;
    if (config.serveUi) {
      const { default: createNext } = await import("next");
      const app = createNext({
        dev: config.dev,
        dir: config.rootDir,
        turbopack: config.dev ? true : undefined,
        httpServer: server,
      });
      await app.prepare();
      next = app.getRequestHandler();
      if (config.dev) {
        const upgrade = app.getUpgradeHandler();
        nextUpgrade = (req, socket, head) => void upgrade(req, socket, head);
      }
      closers.push(() => app.close());
    }

    server.on("request", createRequestHandler(services, { next }));
    server.on("upgrade", createUpgradeListener(services, { originPolicy: originPolicy(config), next: nextUpgrade }));
    server.on("clientError", answerClientError);
    const realtime = await attachRealtime(server, {
      authenticate: (cookie) =>
        readSession(db.prisma, cookie, {
          secret,
          maxAgeSeconds: services.auth.maxAgeSeconds,
          secureCookies: services.auth.secureCookies,
        }),
      responseHeaders: RAW_SECURITY_HEADERS,
      redisUrl: config.redisUrl,
      log,
      metrics: services.metrics,
    });
    services.realtime = realtime;
    services.events.attach(realtime);
    closers.push(() => realtime.close());

    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const url = config.auth.publicUrl ?? `http://localhost:${port}`;
    services.auth.publicUrl = url;
    services.auth.secureCookies = url.startsWith("https:");
    exportNextAuthUrl(url);

    reconciler.start();
    closers.push(() => reconciler.stop());
    scheduler.start();
    closers.push(() => scheduler.stop());
    const scheduledStarts = new ScheduledStarts(services, { intervalMs: config.schedulerIntervalSeconds * 1000 });
    scheduledStarts.start();
    closers.push(() => scheduledStarts.stop());

    const pruneTimer = setInterval(() => {
      void pruneSignInFailures(db.prisma, config.auth.signInThrottle).catch(() => {});
      void pruneSessions(db.prisma).catch(() => {});
    }, 10 * 60_000);
    pruneTimer.unref();
    closers.push(() => Promise.resolve(clearInterval(pruneTimer)));
    closers.push(startAuditRetention({ prisma: db.prisma, log }, { intervalMs: 6 * 3600_000 }));
    auditCheckpoints.start();
    closers.push(() => auditCheckpoints.stop());

    log.info(
      { action: "panel.started", metadata: { url, version: config.version, database: db.kind, ui: config.serveUi } },
      `Greenlight ${config.version} listening on ${url}`,
    );
    return { url, port, services, demoUsers, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
