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
  connectWithinMs: z
    .number()
    .int()
    .min(100, "must be at least 100 ms")
    .max(30_000, "must be at most 30000 ms")
    .default(5000),
});

export const smokeCheck = z.discriminatedUnion("kind", [httpSmokeCheck, websocketSmokeCheck], {
  error: "kind must be http or websocket",
});
export type SmokeCheck = z.infer<typeof smokeCheck>;

/**
 * How a step's gates judge the new release (server/releases/judge/). Each setting is explained in words
 * on the policy form (app/(dashboard)/services/[id]/EnvironmentSettings.tsx).
 */
export const gatesSchema = z.object({
  /** How sure the judge must be before it fails a step (or passes one early), in percent. */
  confidencePercent: z
    .number({ error: "must be a number" })
    .gt(50, "must be more than 50 %")
    .lt(100, "must be less than 100 %"),
  /** Requests the new slot must serve in a step before the step may pass; failing needs none. */
  minRequests: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(1_000_000, "must be at most 1000000"),
  errorRate: z.object({
    /** The new slot may fail at most this many percentage points more often than the live slot. */
    marginPp: z
      .number({ error: "must be a number" })
      .min(0, "must not be negative")
      .max(100, "must be at most 100 percentage points"),
    /** Hard ceiling: the new slot may fail at most this share of requests, whatever live does. */
    maxPercent: z
      .number({ error: "must be a number" })
      .gt(0, "must be more than 0 %")
      .max(100, "must be at most 100 %"),
  }),
  latency: z.object({
    /** The new slot may be slower than the live slot by at most this share … */
    marginPercent: z
      .number({ error: "must be a number" })
      .min(0, "must not be negative")
      .max(1000, "must be at most 1000 %"),
    /** … plus this many milliseconds. */
    marginMs: z
      .number({ error: "must be a number" })
      .min(0, "must not be negative")
      .max(600_000, "must be at most 600000 ms"),
    /** Hard ceiling: the new slot's p95 latency, in milliseconds. */
    maxP95Ms: z
      .number({ error: "must be a number" })
      .min(1, "must be between 1 and 600000 ms")
      .max(600_000, "must be between 1 and 600000 ms"),
  }),
  /** Failed measurements (one a second at most) a step tolerates before it rolls back; 1 rolls back at the first. */
  failureLimit: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1 (1 rolls back at the first failure)")
    .max(1000, "must be at most 1000"),
  /** Failed measurements in a row that roll back, whatever failureLimit says; null for none. */
  consecutiveFailureLimit: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(1000, "must be at most 1000")
    .nullable(),
});
export type Gates = z.infer<typeof gatesSchema>;

export const policySchema = z.object({
  steps: z
    .array(
      z.number().int("must be whole percentages").min(1, "must be between 1 and 100").max(100, "must not exceed 100"),
      { error: "must be a list of percentages" },
    )
    .min(1, "must not be empty")
    .max(20, "must have at most 20 steps")
    .refine((steps) => steps.every((s, i) => i === 0 || s > steps[i - 1]!), "must rise from one step to the next")
    .refine((steps) => steps[steps.length - 1] === 100, "must end at 100"),
  bakeSeconds: z.number().int().min(0, "must be between 0 and 86400").max(86_400, "must be between 0 and 86400"),
  gates: gatesSchema,
  validationSeconds: z.number().int().min(0, "must be between 0 and 86400").max(86_400, "must be between 0 and 86400"),
  scaleDownDelaySeconds: z
    .number()
    .int()
    .min(0, "must be between 0 and 604800")
    .max(604_800, "must be between 0 and 604800"),
  /** Green must be running and healthy within this many seconds of being deployed. */
  greenReadyTimeoutSeconds: z
    .number()
    .int()
    .min(5, "must be between 5 and 7200")
    .max(7200, "must be between 5 and 7200"),
  smokeTests: z.array(smokeCheck).max(30, "must have at most 30 checks"),
});
export type Policy = z.infer<typeof policySchema>;

/** The demo service's database health answers 200 within 2 s (a default check, and the one tests deploy with). */
export const DATABASE_HEALTH_SMOKE_TEST: SmokeCheck = {
  kind: "http",
  name: "Database health is 200",
  method: "GET",
  path: "/api/v1/health/database",
  expectStatus: 200,
  maxStatus: 399,
  maxLatencyMs: 2000,
};

export const WEBSOCKET_SMOKE_TEST: SmokeCheck = {
  kind: "websocket",
  name: "WebSocket connects",
  path: "/ws",
  connectWithinMs: 5000,
};

export const DEFAULT_SMOKE_TESTS: SmokeCheck[] = [
  {
    kind: "http",
    name: "Sign-in endpoint answers",
    method: "GET",
    path: "/api/auth/signin",
    expectStatus: 200,
    maxStatus: 399,
    maxLatencyMs: 2000,
  },
  WEBSOCKET_SMOKE_TEST,
  DATABASE_HEALTH_SMOKE_TEST,
  {
    kind: "http",
    name: "Feature endpoint answers below 400",
    method: "GET",
    path: "/api/v1/version",
    maxStatus: 399,
    maxLatencyMs: 2000,
  },
];

export const DEFAULT_GATES: Gates = {
  confidencePercent: 99,
  minRequests: 20,
  errorRate: { marginPp: 0.5, maxPercent: 5 },
  latency: { marginPercent: 20, marginMs: 25, maxP95Ms: 500 },
  failureLimit: 1,
  consecutiveFailureLimit: null,
};

/** The gates as policies stored them before the judge: fixed thresholds on raw numbers. */
const legacyGates = z.object({
  maxErrorRateIncreasePp: z.number(),
  maxErrorRatePercent: z.number(),
  maxP95Ms: z.number(),
  minRequests: z.number(),
});

/**
 * Stored gates in today's shape. Policies written before the judge keep their numbers with the same
 * intent: the margin over live and the two ceilings are what they were, now judged at 99 % confidence
 * (so one failed request out of 200 no longer rolls a release back), with the default latency margin.
 */
export function upgradeGates(stored: unknown): unknown {
  const legacy = legacyGates.safeParse(stored);
  if (!legacy.success) return stored;
  const old = legacy.data;
  return {
    ...DEFAULT_GATES,
    minRequests: old.minRequests,
    errorRate: {
      marginPp: old.maxErrorRateIncreasePp,
      maxPercent: old.maxErrorRatePercent > 0 ? old.maxErrorRatePercent : DEFAULT_GATES.errorRate.maxPercent,
    },
    latency: { ...DEFAULT_GATES.latency, maxP95Ms: old.maxP95Ms },
  };
}

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

// The alert thresholds are the environment's, watched by telemetry; the settings form edits them beside the policy.
export { alertThresholdsSchema, DEFAULT_ALERT_THRESHOLDS, type AlertThresholds } from "../telemetry/alerts.ts";

/** Reads a stored policy, filling fields added since it was written with their defaults. */
export function readPolicy(stored: unknown, production = false): Policy {
  const object = typeof stored === "object" && stored ? (stored as Record<string, unknown>) : {};
  const merged = {
    ...defaultPolicy(production),
    ...object,
    ...(object.gates ? { gates: upgradeGates(object.gates) } : {}),
  };
  return policySchema.parse(merged);
}
