/**
 * Rollback hooks, set by administrators per environment (never free-form commands from a browser):
 * call a webhook, or flush a configured Redis cache database — the usual "clear caches" step of a
 * rollback. Each run's outcome goes on the deployment's timeline.
 *
 * Delivery is at least once, with a key: each attempt is recorded (timeline and audit) before
 * anything is sent, and a webhook carries `Idempotency-Key: <deployment id>/<hook name>`, the same
 * on every attempt. A panel killed while a hook runs sends it again after it restarts (the hook may
 * have run, or not: nobody can know), and the receiver uses the key to act once. A Redis flush is
 * idempotent by nature.
 */
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import { appendEvent } from "./timeline.ts";

const httpUrl = z.string().refine((v) => {
  try {
    return ["http:", "https:"].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, "must be an http:// or https:// URL");

const redisUrl = z.string().refine((v) => {
  try {
    return ["redis:", "rediss:"].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, "must be a redis:// or rediss:// URL");

export const rollbackHookSchema = z.discriminatedUnion(
  "kind",
  [
    z.object({
      kind: z.literal("webhook"),
      name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
      url: httpUrl,
      timeoutMs: z
        .number()
        .int()
        .min(100, "must be between 100 and 30000")
        .max(30_000, "must be between 100 and 30000")
        .default(5000),
    }),
    z.object({
      kind: z.literal("redis_flush"),
      name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
      url: redisUrl,
      database: z.number().int().min(0, "must be between 0 and 15").max(15, "must be between 0 and 15"),
    }),
  ],
  { error: "kind must be webhook or redis_flush" },
);
export const rollbackHooksSchema = z
  .array(rollbackHookSchema)
  .max(10, "must have at most 10 hooks")
  // A hook's name is part of its idempotency key: two hooks with one name would share it.
  .refine((hooks) => new Set(hooks.map((h) => h.name)).size === hooks.length, "must not repeat a hook name");
export type RollbackHook = z.infer<typeof rollbackHookSchema>;

export interface HookOutcome {
  name: string;
  kind: RollbackHook["kind"];
  ok: boolean;
  detail: string;
  ms: number;
}

export interface HookContext {
  deploymentId: string;
  service: string;
  environment: string;
  release: string;
  reason: unknown;
}

/** The same on every attempt at one hook for one deployment, before and after a crash. */
export function hookIdempotencyKey(deploymentId: string, hook: Pick<RollbackHook, "name">): string {
  return `${deploymentId}/${hook.name}`;
}

/**
 * Records that a hook is about to run, on the timeline and in the audit log, in one transaction and
 * before anything is sent: an attempt a crash cut short stays on record. Returns the attempt number.
 */
export async function recordHookAttempt(
  prisma: PrismaClient,
  actor: Actor,
  deploymentId: string,
  hook: RollbackHook,
): Promise<number> {
  const key = hookIdempotencyKey(deploymentId, hook);
  return prisma.$transaction(async (tx) => {
    const attempt =
      (await tx.deploymentEvent.count({
        where: { deploymentId, kind: "hook_attempt", data: { path: ["key"], equals: key } },
      })) + 1;
    await appendEvent(tx, deploymentId, {
      kind: "hook_attempt",
      message: `Rollback hook "${hook.name}": attempt ${attempt} (Idempotency-Key ${key})`,
      data: { name: hook.name, kind: hook.kind, key, attempt },
    });
    await recordAudit(tx, actor, {
      action: "deployment.rollback_hook_attempted",
      entityType: "Deployment",
      entityId: deploymentId,
      after: { hook: hook.name, key, attempt },
    });
    return attempt;
  });
}

export async function runRollbackHook(hook: RollbackHook, context: HookContext, attempt = 1): Promise<HookOutcome> {
  const started = performance.now();
  const done = (ok: boolean, detail: string): HookOutcome => ({
    name: hook.name,
    kind: hook.kind,
    ok,
    detail,
    ms: Math.round(performance.now() - started),
  });
  try {
    if (hook.kind === "webhook") {
      const idempotencyKey = hookIdempotencyKey(context.deploymentId, hook);
      const response = await fetch(hook.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "Greenlight rollback hook",
          "Idempotency-Key": idempotencyKey,
        },
        body: JSON.stringify({ event: "deployment.rolled_back", ...context, idempotencyKey, attempt }),
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
      return done(response.ok, `webhook answered ${response.status}`);
    }
    // Loaded when a Redis hook runs, not at every panel start.
    const { createClient } = await import("redis");
    const client = createClient({
      url: hook.url,
      database: hook.database,
      socket: { connectTimeout: 3000, reconnectStrategy: false },
    });
    client.on("error", () => {});
    await client.connect();
    try {
      const keys = await client.dbSize();
      await client.flushDb();
      return done(true, `flushed Redis database ${hook.database} (${keys} keys)`);
    } finally {
      await client.quit().catch(() => {});
    }
  } catch (error) {
    return done(false, `${hook.kind === "webhook" ? "webhook" : "Redis flush"} failed: ${(error as Error).message}`);
  }
}

/** A hook's URL without credentials, for timelines and the UI. */
export function describeHookTarget(hook: RollbackHook): string {
  const url = new URL(hook.url);
  url.username = "";
  url.password = "";
  return hook.kind === "redis_flush" ? `${url.origin} db ${hook.database}` : `${url.origin}${url.pathname}`;
}
