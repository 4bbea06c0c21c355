/**
 * The panel's configuration, parsed once from the environment with zod.
 *
 * This is the only module that reads `process.env`. Everything else receives a `Config`.
 * A bad value stops start-up with one line naming the variable and what is wrong with it.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { parseEd25519Key } from "./ed25519-key.ts";
import { ROLES, type Role } from "./roles.ts";

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, given either as a plain integer ("28800") or with a unit ("8h", "30m"). */
const durationSeconds = z
  .string()
  .regex(/^\d+\s*[smhd]?$/, "must be a number of seconds or a duration such as 8h, 30m, 90s")
  .transform((raw) => {
    const match = /^(\d+)\s*([smhd]?)$/.exec(raw)!;
    return Number(match[1]) * DURATION_UNITS[match[2] || "s"]!;
  })
  .refine((seconds) => seconds > 0, "must be greater than zero");

/** A whole number of at least `min` (and at most `max`); the messages name the bounds. */
function wholeNumber(min: number, max?: number) {
  return z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .refine(
      (n) => n >= min && (max === undefined || n <= max),
      max === undefined ? `must be at least ${min}` : `must be between ${min} and ${max}`,
    );
}

const port = z
  .string()
  .regex(/^\d+$/, "must be an integer between 0 and 65535")
  .transform(Number)
  .refine((n) => n >= 0 && n <= 65535, "must be an integer between 0 and 65535");

const postgresUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === "postgresql:" || url.protocol === "postgres:") && url.hostname !== "";
  } catch {
    return false;
  }
}, "must be a URL of the form postgresql://user:password@host:5432/database");

const redisUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === "redis:" || url.protocol === "rediss:";
  } catch {
    return false;
  }
}, "must be a URL of the form redis://host:6379");

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http:// or https:// URL");

const booleanFlag = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

/**
 * OIDC_ROLE_MAP maps identity-provider groups to Greenlight roles, either as JSON
 * (`{"platform-leads":["release_manager","approver"]}`) or as a list (`platform-leads=release_manager+approver,sre=oncall`).
 */
const roleMap = z.string().transform((raw, ctx) => {
  const map: Record<string, Role[]> = {};
  const add = (group: string, roles: unknown) => {
    const list = Array.isArray(roles) ? roles : [roles];
    for (const role of list) {
      if (!ROLES.includes(role as Role)) {
        ctx.addIssue({
          code: "custom",
          message: `maps group "${group}" to unknown role "${String(role)}" (known: ${ROLES.join(", ")})`,
        });
        return;
      }
    }
    map[group] = [...new Set([...(map[group] ?? []), ...(list as Role[])])];
  };
  const trimmed = raw.trim();
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid JSON" });
      return z.NEVER;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      ctx.addIssue({ code: "custom", message: "must be a JSON object of group to role list" });
      return z.NEVER;
    }
    for (const [group, roles] of Object.entries(parsed)) add(group, roles);
  } else if (trimmed !== "") {
    for (const pair of trimmed.split(",")) {
      const [group, roles] = pair.split("=").map((s) => s.trim());
      if (!group || !roles) {
        ctx.addIssue({ code: "custom", message: `entry "${pair}" must look like group=role or group=role1+role2` });
        return z.NEVER;
      }
      add(
        group,
        roles.split("+").map((r) => r.trim()),
      );
    }
  }
  return map;
});

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  PORT: port.default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: postgresUrl.optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters (try: openssl rand -base64 32)").optional(),
  NEXTAUTH_URL: httpUrl.optional(),
  SESSION_MAX_AGE: durationSeconds.default(8 * 3600),
  OIDC_ISSUER: httpUrl.optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_ROLE_MAP: roleMap.default({}),
  OIDC_GROUPS_CLAIM: z.string().min(1).default("groups"),
  REDIS_URL: redisUrl.optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  LOG_FILE: z.string().min(1).optional(),
  TRUST_PROXY: booleanFlag.default(false),
  SEED_DEMO_USERS: booleanFlag.optional(),
  SERVE_UI: booleanFlag.default(true),
  NOTIFY_WEBHOOK_URL: httpUrl.optional(),
  SMTP_URL: z
    .string()
    .refine((value) => {
      try {
        return ["smtp:", "smtps:"].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, "must be a URL of the form smtp://user:password@mail.example.com:587")
    .optional(),
  SMTP_FROM: z.string().min(3).default("Greenlight <greenlight@localhost>"),
  SCHEDULER_INTERVAL: durationSeconds.default(5),
  /** The local data plane's traffic guard (ARCHITECTURE.md, "The traffic guard"); TRAFFIC_GUARD=false turns it off. */
  TRAFFIC_GUARD: booleanFlag.default(true),
  RECONCILER_PASS_DEADLINE: durationSeconds
    .refine((n) => n >= 1 && n <= 600, "must be between 1 second and 10 minutes")
    .default(30),
  LOCAL_TARGET_COMMAND: z
    .string()
    .transform((raw, ctx) => {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === "string")) return parsed;
      } catch {
        /* reported below */
      }
      ctx.addIssue({ code: "custom", message: 'must be a JSON array of strings, e.g. ["node","service.js"]' });
      return z.NEVER;
    })
    .optional(),
  HEALTH_MIN_FREE_DISK_MB: z
    .string()
    .regex(/^\d+$/, "must be a whole number of megabytes")
    .transform(Number)
    .default(512),
  HEALTH_MAX_HEAP_PERCENT: z
    .string()
    .regex(/^\d+$/, "must be a whole percentage")
    .transform(Number)
    .refine((n) => n > 0 && n <= 100, "must be between 1 and 100")
    .default(95),
  SIGNIN_MAX_FAILURES: wholeNumber(1).default(5),
  SIGNIN_MAX_FAILURES_PER_ADDRESS: wholeNumber(1).default(100),
  SIGNIN_FAILURE_WINDOW: durationSeconds.default(60),
  // 10 is where bcrypt stays slow to crack (74 ms a hash here); each step doubles the time. Below 10
  // is for test suites, which create hundreds of users (as Laravel's BCRYPT_ROUNDS=4 in tests does),
  // and above 15 a sign-in would take seconds.
  BCRYPT_COST: wholeNumber(4, 15).default(10),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters (try: openssl rand -hex 24)").optional(),
  AUDIT_CHECKPOINT_KEY: z
    .string()
    .refine((value) => {
      try {
        parseEd25519Key(value);
        return true;
      } catch {
        return false;
      }
    }, "must be an Ed25519 private key: PEM, or the base64 of its PKCS #8 DER form (try: openssl genpkey -algorithm ed25519 -outform DER | base64 -w0)")
    .optional(),
  AUDIT_CHECKPOINT_FILE: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_EVENTS: wholeNumber(1).default(100),
  AUDIT_CHECKPOINT_INTERVAL: durationSeconds.default(300),
  AUDIT_CHECKPOINT_WEBHOOK_URL: httpUrl.optional(),
});

export type Config = {
  env: "development" | "production" | "test";
  dev: boolean;
  port: number;
  host: string;
  version: string;
  /** Directory of the Next.js app (the repository root). */
  rootDir: string;
  database: { kind: "pglite"; dataDir: string } | { kind: "postgres"; url: string };
  dataDir: string;
  auth: {
    /** Undefined on the embedded default until the data directory provides one (see auth/secret.ts). */
    secret: string | undefined;
    publicUrl: string | undefined;
    sessionMaxAgeSeconds: number;
    oidc:
      | { issuer: string; clientId: string; clientSecret: string; roleMap: Record<string, Role[]>; groupsClaim: string }
      | undefined;
    signInThrottle: { maxFailures: number; maxFailuresPerAddress: number; windowSeconds: number };
    /** bcrypt's cost factor for new password hashes (a stored hash keeps the cost it was made with). */
    bcryptCost: number;
  };
  redisUrl: string | undefined;
  log: { level: string; file: string | undefined };
  trustProxy: boolean;
  seedDemoUsers: boolean;
  /** False runs the API, auth and real time without Next.js pages (used by integration tests). */
  serveUi: boolean;
  /** Where notices go besides the panel: a Slack-compatible webhook and e-mail over SMTP. */
  notifications: { webhookUrl: string | undefined; smtpUrl: string | undefined; smtpFrom: string };
  /** How often scheduled notices (window reminders, overdue reviews) are checked. */
  schedulerIntervalSeconds: number;
  /** Longest a reconciler pass may run before its target calls are aborted and it counts as failed. */
  passDeadlineSeconds: number;
  /** Whether traffic steps arm the local data plane's traffic guard. */
  trafficGuard: boolean;
  /** The command the local target runs in each slot (default: the bundled demo service). */
  localTarget: { command: string[] | undefined };
  health: { minFreeDiskMb: number; maxHeapPercent: number };
  /** When set, /metrics answers only requests bearing this token. */
  metricsToken: string | undefined;
  /** Signed checkpoints of the audit chain, outside the database (server/audit/checkpoint.ts). */
  auditCheckpoints: {
    key: string | undefined;
    file: string;
    everyEvents: number;
    everySeconds: number;
    webhookUrl: string | undefined;
  };
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`Configuration error: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

/** Empty strings count as unset, as shells and .env files commonly produce them. */
function nonEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== "") out[key] = value;
  return out;
}

export function parseConfig(env: NodeJS.ProcessEnv, rootDir = process.cwd()): Config {
  const result = envSchema.safeParse(nonEmpty(env));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const raw = env[variable];
    const shown = raw === undefined || /SECRET|PASSWORD|TOKEN|KEY/.test(variable) ? "" : ` (got "${raw}")`;
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const e = result.data;
  const oidcParts = [e.OIDC_ISSUER, e.OIDC_CLIENT_ID, e.OIDC_CLIENT_SECRET];
  if (oidcParts.some(Boolean) && !oidcParts.every(Boolean)) {
    const missing = ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"].filter((_, i) => !oidcParts[i]);
    throw new ConfigError(
      missing[0]!,
      "must be set too: OIDC sign-in needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together",
    );
  }
  if (e.DATABASE_URL && !e.NEXTAUTH_SECRET) {
    throw new ConfigError(
      "NEXTAUTH_SECRET",
      "must be set when DATABASE_URL is set, so that every panel instance signs sessions with the same key (try: openssl rand -base64 32)",
    );
  }
  const dataDir = path.resolve(rootDir, e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    dev: e.NODE_ENV === "development",
    port: e.PORT,
    host: e.HOST,
    version: env.npm_package_version ?? readPackageVersion(rootDir),
    rootDir,
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL }
      : { kind: "pglite", dataDir: path.join(dataDir, "pglite") },
    dataDir,
    auth: {
      secret: e.NEXTAUTH_SECRET,
      publicUrl: e.NEXTAUTH_URL,
      sessionMaxAgeSeconds: e.SESSION_MAX_AGE,
      oidc:
        e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET
          ? {
              issuer: e.OIDC_ISSUER,
              clientId: e.OIDC_CLIENT_ID,
              clientSecret: e.OIDC_CLIENT_SECRET,
              roleMap: e.OIDC_ROLE_MAP,
              groupsClaim: e.OIDC_GROUPS_CLAIM,
            }
          : undefined,
      signInThrottle: {
        maxFailures: e.SIGNIN_MAX_FAILURES,
        maxFailuresPerAddress: e.SIGNIN_MAX_FAILURES_PER_ADDRESS,
        windowSeconds: e.SIGNIN_FAILURE_WINDOW,
      },
      bcryptCost: e.BCRYPT_COST,
    },
    redisUrl: e.REDIS_URL,
    log: { level: e.LOG_LEVEL, file: e.LOG_FILE },
    trustProxy: e.TRUST_PROXY,
    // Demo users are seeded on the embedded default only, unless explicitly asked for.
    seedDemoUsers: e.SEED_DEMO_USERS ?? !e.DATABASE_URL,
    serveUi: e.SERVE_UI,
    localTarget: { command: e.LOCAL_TARGET_COMMAND },
    notifications: { webhookUrl: e.NOTIFY_WEBHOOK_URL, smtpUrl: e.SMTP_URL, smtpFrom: e.SMTP_FROM },
    schedulerIntervalSeconds: e.SCHEDULER_INTERVAL,
    passDeadlineSeconds: e.RECONCILER_PASS_DEADLINE,
    trafficGuard: e.TRAFFIC_GUARD,
    health: { minFreeDiskMb: e.HEALTH_MIN_FREE_DISK_MB, maxHeapPercent: e.HEALTH_MAX_HEAP_PERCENT },
    metricsToken: e.METRICS_TOKEN,
    auditCheckpoints: {
      key: e.AUDIT_CHECKPOINT_KEY,
      file: path.resolve(rootDir, e.AUDIT_CHECKPOINT_FILE ?? path.join(dataDir, "audit-checkpoints.jsonl")),
      everyEvents: e.AUDIT_CHECKPOINT_EVENTS,
      everySeconds: e.AUDIT_CHECKPOINT_INTERVAL,
      webhookUrl: e.AUDIT_CHECKPOINT_WEBHOOK_URL,
    },
  };
}

function readPackageVersion(rootDir: string): string {
  try {
    return (
      (JSON.parse(fs.readFileSync(path.join(rootDir, "package.json"), "utf8")) as { version?: string }).version ??
      "0.0.0"
    );
  } catch {
    return "0.0.0";
  }
}

/** Loads the configuration of this process. */
export function loadConfig(): Config {
  return parseConfig(process.env);
}

/*
 * Libraries that insist on reading their settings from the environment get them from here, so the
 * environment still has one owner.
 */

/** Next.js and React pick their production or development builds from NODE_ENV when first loaded. */
export function exportNodeEnv(env: Config["env"]): void {
  (process.env as Record<string, string>).NODE_ENV = env;
  process.env.NEXT_TELEMETRY_DISABLED = "1";
}

/** next-auth builds its redirect URLs from NEXTAUTH_URL, known once the server listens. */
export function exportNextAuthUrl(url: string): void {
  process.env.NEXTAUTH_URL = url;
}

/**
 * The browsers the tests and benchmarks drive, in the order they are preferred: Debian's old headless
 * shell (chromium-headless-shell, what Playwright itself uses for headless runs), then the full browser.
 * The same Blink and V8 without the browser's own machinery: two browser specs took 99-119 CPU-s in it
 * against 160-162 in the full browser, the browser tier's largest cost.
 */
const CHROMIUM_CANDIDATES = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"] as const;

/** CHROMIUM_PATH when set, else the first candidate installed, else the full browser's path (to name it when missing). */
export function chromiumPath(setting: string | undefined, installed: (file: string) => boolean): string {
  if (setting) return setting;
  return CHROMIUM_CANDIDATES.find((file) => installed(file)) ?? CHROMIUM_CANDIDATES[1];
}

/** Variables that test harnesses pass to the panel processes they spawn. */
export function testEnvironment(): {
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  chromiumPath: string;
  prometheusPath: string;
} {
  return {
    databaseUrl: process.env.TEST_DATABASE_URL || undefined,
    redisUrl: process.env.TEST_REDIS_URL || undefined,
    chromiumPath: chromiumPath(process.env.CHROMIUM_PATH, fs.existsSync),
    // The Prometheus tier starts this server (Debian's `prometheus` package installs it here).
    prometheusPath: process.env.PROMETHEUS_PATH || "/usr/bin/prometheus",
  };
}

/** This process's environment plus `extra`, for child processes started by tooling (benchmarks). */
export function inheritedEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
