/**
 * An environment's deployment policy: traffic steps, bake time per step, gates, the post-promotion
 * validation window, the delay before the old slot is scaled down, and smoke tests. Validated with
 * messages that name the field; defaults follow common practice.
 */
import { z } from "zod";

export const httpSmokeCheck = z.object({
  kind: z.literal("http"),
  name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
  method: z.enum(["GET", "HEAD", "POST"], { error: "must be GET, HEAD or POST" }).default("GET"),
  path: z.string().regex(/^\/[^\s]*$/, "must be a path starting with /"),
  /** Exact status expected; when absent, any status up to `maxStatus` passes. */
  expectStatus: z.number().int().min(100, "must be an HTTP status").max(599, "must be an HTTP status").optional(),
  maxStatus: z.number().int().min(100, "must be an HTTP status").max(599, "must be an HTTP status").default(399),
  bodyContains: z.string().max(200, "must be at most 200 characters").optional(),
  maxLatencyMs: z.number().int().min(1, "must be at least 1 ms").max(60_000, "must be at most 60000 ms").default(2000),
});

export const websocketSmokeCheck = z.object({
  kind: z.literal("websocket"),
  name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
  path: z.string().regex(/^\/[^\s]*$/, "must be a path starting with /"),
  connectWithinMs: z.number().int().min(100, "must be at least 100 ms").max(30_000, "must be at most 30000 ms").default(5000),
});

export const smokeCheck = z.discriminatedUnion("kind", [httpSmokeCheck, websocketSmokeCheck], { error: "kind must be http or websocket" });
export type SmokeCheck = z.infer<typeof smokeCheck>;

export const gatesSchema = z.object({
  /** Green's error rate may exceed the live slot's by at most this many percentage points. */
  maxErrorRateIncreasePp: z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100"),
  /** Green's error rate may be at most this many percent. */
  maxErrorRatePercent: z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100"),
  /** Green's 95th-percentile latency may be at most this many milliseconds. */
  maxP95Ms: z.number().min(1, "must be between 1 and 600000 ms").max(600_000, "must be between 1 and 600000 ms"),
  /** Green must have served this many requests in a step before its gates may pass (or fail). */
  minRequests: z.number().int().min(1, "must be at least 1").max(1_000_000, "must be at most 1000000"),
});
export type Gates = z.infer<typeof gatesSchema>;

export const policySchema = z.object({
  steps: z
    .array(z.number().int("must be whole percentages").min(1, "must be between 1 and 100").max(100, "must not exceed 100"), { error: "must be a list of percentages" })
    .min(1, "must not be empty")
    .max(20, "must have at most 20 steps")
    .refine((steps) => steps.every((s, i) => i === 0 || s > steps[i - 1]!), "must rise from one step to the next")
    .refine((steps) => steps[steps.length - 1] === 100, "must end at 100"),
  bakeSeconds: z.number().int().min(0, "must be between 0 and 86400").max(86_400, "must be between 0 and 86400"),
  gates: gatesSchema,
  validationSeconds: z.number().int().min(0, "must be between 0 and 86400").max(86_400, "must be between 0 and 86400"),
  scaleDownDelaySeconds: z.number().int().min(0, "must be between 0 and 604800").max(604_800, "must be between 0 and 604800"),
  /** Green must be running and healthy within this many seconds of being deployed. */
  greenReadyTimeoutSeconds: z.number().int().min(5, "must be between 5 and 7200").max(7200, "must be between 5 and 7200"),
  smokeTests: z.array(smokeCheck).max(30, "must have at most 30 checks"),
});
export type Policy = z.infer<typeof policySchema>;

export const DEFAULT_SMOKE_TESTS: SmokeCheck[] = [
  { kind: "http", name: "Sign-in endpoint answers", method: "GET", path: "/api/auth/signin", expectStatus: 200, maxStatus: 399, maxLatencyMs: 2000 },
  { kind: "websocket", name: "WebSocket connects", path: "/ws", connectWithinMs: 5000 },
  { kind: "http", name: "Database health is 200", method: "GET", path: "/api/v1/health/database", expectStatus: 200, maxStatus: 399, maxLatencyMs: 2000 },
  { kind: "http", name: "Feature endpoint answers below 400", method: "GET", path: "/api/v1/version", maxStatus: 399, maxLatencyMs: 2000 },
];

export const DEFAULT_GATES: Gates = { maxErrorRateIncreasePp: 0.1, maxErrorRatePercent: 0.5, maxP95Ms: 500, minRequests: 20 };

export function defaultPolicy(production: boolean): Policy {
  return {
    steps: [10, 50, 100],
    bakeSeconds: production ? 60 : 10,
    gates: { ...DEFAULT_GATES },
    validationSeconds: production ? 120 : 15,
    scaleDownDelaySeconds: production ? 600 : 60,
    // ECS behind a load balancer often needs several minutes to reach steady state.
    greenReadyTimeoutSeconds: 600,
    smokeTests: DEFAULT_SMOKE_TESTS.map((c) => ({ ...c })),
  };
}

export const alertThresholdsSchema = z.object({
  /** Live error rate (percent, over the last 30 s) above which a critical alert opens. */
  errorRatePercent: z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100"),
  /** Live p95 latency (ms, over the last 30 s) above which a critical alert opens. */
  p95Ms: z.number().min(1, "must be between 1 and 600000 ms").max(600_000, "must be between 1 and 600000 ms"),
});
export type AlertThresholds = z.infer<typeof alertThresholdsSchema>;
export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = { errorRatePercent: 5, p95Ms: 1500 };

/** Reads a stored policy, filling fields added since it was written with their defaults. */
export function readPolicy(stored: unknown, production = false): Policy {
  const merged = { ...defaultPolicy(production), ...(typeof stored === "object" && stored ? stored : {}) };
  return policySchema.parse(merged);
}
