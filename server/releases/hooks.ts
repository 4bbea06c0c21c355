/**
 * Rollback hooks, set by administrators per environment (never free-form commands from a browser):
 * call a webhook, or flush a configured Redis cache database — the usual "clear caches" step of a
 * rollback. Each run's outcome goes on the deployment's timeline.
 */
import { createClient } from "redis";
import { z } from "zod";

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
      timeoutMs: z.number().int().min(100, "must be between 100 and 30000").max(30_000, "must be between 100 and 30000").default(5000),
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
export const rollbackHooksSchema = z.array(rollbackHookSchema).max(10, "must have at most 10 hooks");
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

export async function runRollbackHook(hook: RollbackHook, context: HookContext): Promise<HookOutcome> {
  const started = performance.now();
  const done = (ok: boolean, detail: string): HookOutcome => ({ name: hook.name, kind: hook.kind, ok, detail, ms: Math.round(performance.now() - started) });
  try {
    if (hook.kind === "webhook") {
      const response = await fetch(hook.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "Greenlight rollback hook" },
        body: JSON.stringify({ event: "deployment.rolled_back", ...context }),
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
      return done(response.ok, `webhook answered ${response.status}`);
    }
    const client = createClient({ url: hook.url, database: hook.database, socket: { connectTimeout: 3000, reconnectStrategy: false } });
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
