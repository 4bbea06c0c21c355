/**
 * An ECS environment's target configuration: two ECS services (blue, green) behind one ALB listener
 * (or listener rule) whose forward action splits traffic between two target groups by weight.
 *
 * `validateEcsConfig` is static (no AWS call): shapes, ARN formats, that the ARNs agree on region and
 * load balancer, and every derived value (the CloudWatch dimensions). Messages name the field.
 * `verifyEcsConfigAgainstAws` (verify.ts) then checks the resources exist and fit together.
 */
import { z } from "zod";

const PARTITION = "aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?";
const REGION = "[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d";
const ACCOUNT = "\\d{12}";
const LB_NAME = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?";
const HEX16 = "[0-9a-f]{16}";

export const REGION_PATTERN = new RegExp(`^${REGION}$`);
const LISTENER_ARN = new RegExp(`^arn:(${PARTITION}):elasticloadbalancing:(${REGION}):(${ACCOUNT}):listener/(app/${LB_NAME}/${HEX16})/(${HEX16})$`);
const LISTENER_RULE_ARN = new RegExp(`^arn:(${PARTITION}):elasticloadbalancing:(${REGION}):(${ACCOUNT}):listener-rule/(app/${LB_NAME}/${HEX16})/(${HEX16})/(${HEX16})$`);
const TARGET_GROUP_ARN = new RegExp(`^arn:(${PARTITION}):elasticloadbalancing:(${REGION}):(${ACCOUNT}):(targetgroup/${LB_NAME}/${HEX16})$`);
const CLUSTER_ARN = new RegExp(`^arn:(${PARTITION}):ecs:(${REGION}):(${ACCOUNT}):cluster/([A-Za-z0-9_-]{1,255})$`);
const ECS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

export const RELEASE_ID_TAG = "greenlight:release-id";
export const RELEASE_VERSION_TAG = "greenlight:release-version";

const EXAMPLE_LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
const EXAMPLE_RULE = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
const EXAMPLE_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/my-blue/73e2d6bc24d8a067";

/** A string field whose absence says "is required" rather than zod's type complaint. */
const text = (what = "a string") => z.string({ error: (issue) => (issue.input === undefined ? "is required" : `must be ${what}`) }).trim();

const listenerArn = text("a string").regex(LISTENER_ARN, `must be an Application Load Balancer listener ARN such as ${EXAMPLE_LISTENER}`);
const ruleArn = text("a string").regex(LISTENER_RULE_ARN, `must be an Application Load Balancer listener-rule ARN such as ${EXAMPLE_RULE}`);
const targetGroupArn = text("a string").regex(TARGET_GROUP_ARN, `must be a target-group ARN such as ${EXAMPLE_TG}`);
const serviceName = text("a string").regex(ECS_NAME, "must be an ECS service name (letters, digits, hyphens and underscores, at most 255)");
const httpUrl = text("a string").refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}, "must be an http:// or https:// URL");
const int = (min: number, max: number, unit = "") =>
  z
    .number({ error: (issue) => (issue.input === undefined ? "is required" : "must be a number") })
    .int("must be a whole number")
    .min(min, `must be between ${min} and ${max}${unit}`)
    .max(max, `must be between ${min} and ${max}${unit}`);
const pair = <T extends z.ZodTypeAny>(item: T) => z.strictObject({ blue: item, green: item }, { error: (issue) => (issue.input === undefined ? "is required" : "must be an object with blue and green") });

export const retrySettingsSchema = z.strictObject({
  /** Attempts per AWS call, the first included (the SDK's standard strategy). */
  maxAttempts: int(1, 10).default(5),
  /** Exponential backoff: a full-jitter delay up to baseDelayMs × 2^attempt, capped at maxDelayMs. */
  baseDelayMs: int(1, 10_000, " ms").default(200),
  maxDelayMs: int(1, 60_000, " ms").default(5_000),
  /** Per-attempt socket timeout; a timed-out attempt is retried like a 5xx. */
  requestTimeoutMs: int(100, 120_000, " ms").default(10_000),
  connectionTimeoutMs: int(100, 60_000, " ms").default(3_000),
});
export type RetrySettings = z.infer<typeof retrySettingsSchema>;

const schema = z.strictObject({
  region: text().regex(REGION_PATTERN, "must be an AWS region such as eu-west-1"),
  cluster: text().refine((v) => ECS_NAME.test(v) || CLUSTER_ARN.test(v), "must be an ECS cluster name or ARN (arn:aws:ecs:eu-west-1:123456789012:cluster/my-cluster)"),
  services: pair(serviceName),
  listenerArn: listenerArn.optional(),
  listenerRuleArn: ruleArn.optional(),
  targetGroups: pair(targetGroupArn),
  /** A second listener used for smoke tests: the driver points it at the slot under test. */
  testListenerArn: listenerArn.optional(),
  /** URLs that reach each slot directly (a test listener, or per-slot listeners), for smoke tests. */
  smokeTestBaseUrls: pair(httpUrl).optional(),
  containerName: text().regex(ECS_NAME, "must be a container name (letters, digits, hyphens and underscores, at most 255)"),
  stickinessSeconds: int(1, 604_800, " seconds").default(3600),
  steadyStateTimeoutSeconds: int(30, 7200, " seconds").default(600),
  metricsPeriodSeconds: int(60, 3600, " seconds")
    .refine((n) => n % 60 === 0, "must be a multiple of 60 (load balancer metrics have one-minute resolution)")
    .default(60),
  /** How long after a period ends CloudWatch is expected to have its datapoint (load-balancer metrics lag). */
  metricsDelaySeconds: int(0, 900, " seconds").default(90),
  /** Derived from the listener ARN; if given, it must agree. */
  loadBalancerDimension: text().optional(),
  /** Least time between two observations of the environment (keeps passes under AWS's rate limits). */
  pollIntervalMs: int(0, 60_000, " ms").default(2000),
  retry: retrySettingsSchema.default(retrySettingsSchema.parse({})),
});

export type EcsConfigInput = z.input<typeof schema>;

export interface EcsConfig {
  region: string;
  /** As configured (name or ARN); `clusterName` is the name part, for Application Auto Scaling. */
  cluster: string;
  clusterName: string;
  services: { blue: string; green: string };
  route: { kind: "listener"; arn: string } | { kind: "rule"; arn: string; listenerArn: string };
  listenerArn: string | undefined;
  listenerRuleArn: string | undefined;
  targetGroups: { blue: string; green: string };
  testListenerArn: string | undefined;
  smokeTestBaseUrls: { blue: string; green: string } | undefined;
  containerName: string;
  stickinessSeconds: number;
  steadyStateTimeoutSeconds: number;
  metricsPeriodSeconds: number;
  metricsDelaySeconds: number;
  /** CloudWatch's LoadBalancer dimension: `app/<name>/<id>`. */
  loadBalancerDimension: string;
  /** CloudWatch's TargetGroup dimension per slot: `targetgroup/<name>/<id>`. */
  targetGroupDimensions: { blue: string; green: string };
  accountId: string;
  partition: string;
  pollIntervalMs: number;
  retry: RetrySettings;
}

/** `stored`: the configuration as it is kept in Environment.targetConfig (input with defaults filled in). */
export type EcsConfigResult = { ok: true; config: EcsConfig; stored: z.output<typeof schema> } | { ok: false; field: string; error: string };

function fail(field: string, message: string): EcsConfigResult {
  return { ok: false, field: field.split(".")[0] || "config", error: `${field}: ${message}` };
}

/** Parses and checks an environment's ECS configuration without calling AWS. */
export function validateEcsConfig(raw: unknown): EcsConfigResult {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return fail("config", "must be an object");
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const prefix = issue.path.length ? `${issue.path.join(".")}.` : "";
      return fail(`${prefix}${issue.keys[0]}`, "is not a setting of the ECS target");
    }
    return fail(issue.path.length ? issue.path.join(".") : "config", issue.message);
  }
  const c = parsed.data;

  if (c.listenerArn && c.listenerRuleArn) return fail("listenerRuleArn", "give either listenerArn or listenerRuleArn, not both");
  if (!c.listenerArn && !c.listenerRuleArn) return fail("listenerArn", "is required (or listenerRuleArn, when traffic is routed by a listener rule)");

  const routeField = c.listenerArn ? "listenerArn" : "listenerRuleArn";
  const route = c.listenerArn ? LISTENER_ARN.exec(c.listenerArn)! : LISTENER_RULE_ARN.exec(c.listenerRuleArn!)!;
  const [, partition, region, account, loadBalancer, listenerId] = route as unknown as [string, string, string, string, string, string];
  if (region !== c.region) return fail(routeField, `is in region ${region}, but region is ${c.region}`);

  const dims = { blue: "", green: "" };
  for (const slot of ["blue", "green"] as const) {
    const m = TARGET_GROUP_ARN.exec(c.targetGroups[slot])!;
    if (m[2] !== c.region) return fail(`targetGroups.${slot}`, `is in region ${m[2]}, but region is ${c.region}`);
    if (m[3] !== account) return fail(`targetGroups.${slot}`, `belongs to account ${m[3]}, but the load balancer belongs to ${account}`);
    dims[slot] = m[4]!;
  }
  if (c.targetGroups.blue === c.targetGroups.green) return fail("targetGroups.green", "must differ from targetGroups.blue");
  if (c.services.blue === c.services.green) return fail("services.green", "must differ from services.blue");

  const clusterArn = CLUSTER_ARN.exec(c.cluster);
  if (clusterArn && clusterArn[2] !== c.region) return fail("cluster", `is in region ${clusterArn[2]}, but region is ${c.region}`);

  if (c.loadBalancerDimension !== undefined && c.loadBalancerDimension !== loadBalancer) {
    return fail("loadBalancerDimension", `must be ${loadBalancer} (derived from ${routeField}); leave it out to derive it`);
  }
  if (c.testListenerArn) {
    const t = LISTENER_ARN.exec(c.testListenerArn)!;
    if (t[4] !== loadBalancer) return fail("testListenerArn", `must be a listener of the same load balancer (${loadBalancer})`);
    if (c.listenerArn && c.testListenerArn === c.listenerArn) return fail("testListenerArn", "must differ from listenerArn (production traffic would follow the smoke tests)");
    if (c.listenerRuleArn && t[5] === listenerId) return fail("testListenerArn", "must differ from the listener that holds listenerRuleArn");
    if (!c.smokeTestBaseUrls) return fail("smokeTestBaseUrls", "is required with testListenerArn: the URL (port and DNS name) the test listener answers on, for each slot");
  }
  if (c.retry.maxDelayMs < c.retry.baseDelayMs) return fail("retry.maxDelayMs", "must be at least retry.baseDelayMs");

  const listenerArnOfRule = c.listenerRuleArn
    ? `arn:${partition}:elasticloadbalancing:${region}:${account}:listener/${loadBalancer}/${listenerId}`
    : undefined;
  return {
    ok: true,
    stored: c,
    config: {
      region: c.region,
      cluster: c.cluster,
      clusterName: clusterArn ? clusterArn[4]! : c.cluster,
      services: c.services,
      route: c.listenerArn ? { kind: "listener", arn: c.listenerArn } : { kind: "rule", arn: c.listenerRuleArn!, listenerArn: listenerArnOfRule! },
      listenerArn: c.listenerArn,
      listenerRuleArn: c.listenerRuleArn,
      targetGroups: c.targetGroups,
      testListenerArn: c.testListenerArn,
      smokeTestBaseUrls: c.smokeTestBaseUrls,
      containerName: c.containerName,
      stickinessSeconds: c.stickinessSeconds,
      steadyStateTimeoutSeconds: c.steadyStateTimeoutSeconds,
      metricsPeriodSeconds: c.metricsPeriodSeconds,
      metricsDelaySeconds: c.metricsDelaySeconds,
      loadBalancerDimension: loadBalancer,
      targetGroupDimensions: dims,
      accountId: account,
      partition,
      pollIntervalMs: c.pollIntervalMs,
      retry: c.retry,
    },
  };
}

/** The configuration, or an Error saying which field is wrong (for code paths that cannot go on). */
export function requireEcsConfig(raw: unknown, where = "the environment"): EcsConfig {
  const result = validateEcsConfig(raw);
  if (!result.ok) throw new Error(`The ECS configuration of ${where} is invalid: ${result.error}`);
  return result.config;
}

/** Application Auto Scaling's resource id of an ECS service. */
export const scalableResourceId = (config: EcsConfig, service: string) => `service/${config.clusterName}/${service}`;

/** An example configuration (docs/ecs.md shows the same). */
export const EXAMPLE_ECS_CONFIG: EcsConfigInput = {
  region: "eu-west-1",
  cluster: "shop",
  services: { blue: "checkout-blue", green: "checkout-green" },
  listenerArn: EXAMPLE_LISTENER,
  targetGroups: {
    blue: EXAMPLE_TG,
    green: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/my-green/2453ed029918f21f",
  },
  testListenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/my-alb/50dc6c495c0c9188/0467ef3c8400ae65",
  smokeTestBaseUrls: { blue: "https://my-alb-123.eu-west-1.elb.amazonaws.com:8443", green: "https://my-alb-123.eu-west-1.elb.amazonaws.com:8443" },
  containerName: "app",
  stickinessSeconds: 3600,
  steadyStateTimeoutSeconds: 600,
  metricsPeriodSeconds: 60,
};
