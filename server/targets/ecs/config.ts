/**
 * An ECS environment's target configuration: two ECS services (blue, green) behind one ALB listener
 * (or listener rule) whose forward action splits traffic between two target groups by weight.
 *
 * `validateEcsConfig` is static (no AWS call): shapes, ARN formats, that the ARNs agree on region and
 * load balancer, and every derived value (the CloudWatch dimensions). Messages name the field.
 * `verifyEcsConfigAgainstAws` (verify.ts) then checks the resources exist and fit together.
 */
import { z } from "zod";
import { fieldLabel, fieldWords } from "../../field-words.ts";

const PARTITION = "aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?";
// eu-west-1, us-gov-west-1, us-isob-east-1, and the European Sovereign Cloud's eusc-de-east-1.
const REGION = "(?:eusc-[a-z]{2}|[a-z]{2}(?:-gov|-iso[a-z]?)?)-[a-z]+-\\d";
const ACCOUNT = "\\d{12}";
const LB_NAME = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?";
const HEX16 = "[0-9a-f]{16}";

export const REGION_PATTERN = new RegExp(`^${REGION}$`);
const LISTENER_ARN = new RegExp(
  `^arn:(${PARTITION}):elasticloadbalancing:(${REGION}):(${ACCOUNT}):listener/(app/${LB_NAME}/${HEX16})/(${HEX16})$`,
);
const LISTENER_RULE_ARN = new RegExp(
  `^arn:(${PARTITION}):elasticloadbalancing:(${REGION}):(${ACCOUNT}):listener-rule/(app/${LB_NAME}/${HEX16})/(${HEX16})/(${HEX16})$`,
);
const TARGET_GROUP_ARN = new RegExp(
  `^arn:(${PARTITION}):elasticloadbalancing:(${REGION}):(${ACCOUNT}):(targetgroup/${LB_NAME}/${HEX16})$`,
);
const CLUSTER_ARN = new RegExp(`^arn:(${PARTITION}):ecs:(${REGION}):(${ACCOUNT}):cluster/([A-Za-z0-9_-]{1,255})$`);
const ECS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;
const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role/[\\w+=,.@/-]{1,512}$`);
const EXAMPLE_ROLE = "arn:aws:iam::210987654321:role/greenlight-deployer";

export const RELEASE_ID_TAG = "greenlight:release-id";
export const RELEASE_VERSION_TAG = "greenlight:release-version";

const EXAMPLE_LISTENER =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
const EXAMPLE_RULE =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
const EXAMPLE_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/my-blue/73e2d6bc24d8a067";

/** The partition a region belongs to (an ARN of another partition cannot be in that region). */
export function partitionOfRegion(region: string): string {
  const prefixes: [RegExp, string][] = [
    [/^eusc-/, "aws-eusc"],
    [/^cn-/, "aws-cn"],
    [/^us-gov-/, "aws-us-gov"],
    [/^us-iso-/, "aws-iso"],
    [/^us-isob-/, "aws-iso-b"],
    [/^eu-isoe-/, "aws-iso-e"],
    [/^us-isof-/, "aws-iso-f"],
  ];
  return prefixes.find(([pattern]) => pattern.test(region))?.[1] ?? "aws";
}

/** A string field whose absence says "is required" rather than zod's type complaint. */
const text = (what = "a string") =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : `must be ${what}`) }).trim();

const listenerArn = text("a string").regex(
  LISTENER_ARN,
  `must be an Application Load Balancer listener ARN such as ${EXAMPLE_LISTENER}`,
);
const ruleArn = text("a string").regex(
  LISTENER_RULE_ARN,
  `must be an Application Load Balancer listener-rule ARN such as ${EXAMPLE_RULE}`,
);
const targetGroupArn = text("a string").regex(TARGET_GROUP_ARN, `must be a target-group ARN such as ${EXAMPLE_TG}`);
const serviceName = text("a string").regex(
  ECS_NAME,
  "must be an ECS service name (letters, digits, hyphens and underscores, at most 255)",
);
const MAX_ROUTES = 10;
const routeList = (item: z.ZodType<string>, what: string) =>
  z
    .array(item, { error: (issue) => (issue.input === undefined ? "is required" : `must be a list of ${what} ARNs`) })
    .min(1, `must list at least one ${what} ARN`)
    .max(MAX_ROUTES, `must list at most ${MAX_ROUTES} ${what}s`);
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
const pair = <T extends z.ZodTypeAny>(item: T) =>
  z.strictObject(
    { blue: item, green: item },
    { error: (issue) => (issue.input === undefined ? "is required" : "must be an object with blue and green") },
  );

const metricName = text("a string").min(1, "must be 1 to 255 characters").max(255, "must be 1 to 255 characters");

/**
 * High-resolution custom metrics the service publishes itself (CloudWatch StorageResolution 1 s),
 * one set per slot told apart by a dimension: the charts use them at their own period instead of the
 * load balancer's minutes. Latency in milliseconds.
 */
export const highResolutionSchema = z.strictObject(
  {
    namespace: text("a string")
      .min(1, "must be 1 to 255 characters")
      .max(255, "must be 1 to 255 characters")
      .refine((n) => !n.startsWith("AWS/"), "must be your own namespace (AWS/ is for AWS services' metrics)"),
    periodSeconds: z
      .number({ error: (issue) => (issue.input === undefined ? "is required" : "must be a number") })
      .refine((n) => [1, 5, 10, 30].includes(n), "must be 1, 5, 10 or 30 (the high-resolution periods)")
      .default(10),
    /** The dimension whose value is the slot (`blue` or `green`). */
    slotDimension: metricName.default("Slot"),
    /** Further dimensions every metric carries (Service=checkout, say). */
    dimensions: z
      .array(z.strictObject({ name: metricName, value: metricName }, { error: "must be a list of { name, value }" }), {
        error: "must be a list of { name, value }",
      })
      .max(29, "must list at most 29 dimensions")
      .default([]),
    requests: metricName.default("RequestCount"),
    errors: metricName.default("ErrorCount"),
    latencyMs: metricName.default("Latency"),
    /** How long after a period ends its datapoint is expected (high-resolution metrics arrive within seconds). */
    delaySeconds: int(0, 300, " seconds").default(20),
  },
  {
    error: (issue) =>
      issue.input === undefined ? "is required" : "must be an object with namespace (and the metric names)",
  },
);
export type HighResolutionSettings = z.infer<typeof highResolutionSchema>;

/** STS AssumeRole's own limits on the external id and the session name. */
export const assumeRoleSchema = z.strictObject(
  {
    roleArn: text("a string").regex(ROLE_ARN, `must be an IAM role ARN such as ${EXAMPLE_ROLE}`),
    externalId: text("a string")
      .min(2, "must be 2 to 1224 characters")
      .max(1224, "must be 2 to 1224 characters")
      .regex(/^[\w+=,.@:/-]+$/, "may contain only letters, digits and + = , . @ : / - _")
      .optional(),
    sessionName: text("a string")
      .min(2, "must be 2 to 64 characters")
      .max(64, "must be 2 to 64 characters")
      .regex(/^[\w+=,.@-]+$/, "may contain only letters, digits and + = , . @ - _")
      .default("greenlight"),
    durationSeconds: int(900, 43_200, " seconds").default(3600),
  },
  {
    error: (issue) =>
      issue.input === undefined ? "is required" : "must be an object with roleArn (and externalId, sessionName)",
  },
);
export type AssumeRoleSettings = z.infer<typeof assumeRoleSchema>;

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
  cluster: text().refine(
    (v) => ECS_NAME.test(v) || CLUSTER_ARN.test(v),
    "must be an ECS cluster name or ARN (arn:aws:ecs:eu-west-1:123456789012:cluster/my-cluster)",
  ),
  services: pair(serviceName),
  listenerArn: listenerArn.optional(),
  listenerRuleArn: ruleArn.optional(),
  /** Several routes that shift together (HTTP and HTTPS; /api and /ws): every one in each step. */
  listenerArns: routeList(listenerArn, "listener").optional(),
  listenerRuleArns: routeList(ruleArn, "listener rule").optional(),
  targetGroups: pair(targetGroupArn),
  /** A second listener used for smoke tests: the driver points it at the slot under test. */
  testListenerArn: listenerArn.optional(),
  /** URLs that reach each slot directly (a test listener, or per-slot listeners), for smoke tests. */
  smokeTestBaseUrls: pair(httpUrl).optional(),
  containerName: text().regex(
    ECS_NAME,
    "must be a container name (letters, digits, hyphens and underscores, at most 255)",
  ),
  stickinessSeconds: int(1, 604_800, " seconds").default(3600),
  steadyStateTimeoutSeconds: int(30, 7200, " seconds").default(600),
  metricsPeriodSeconds: int(60, 3600, " seconds")
    .refine((n) => n % 60 === 0, "must be a multiple of 60 (load balancer metrics have one-minute resolution)")
    .default(60),
  /** How long after a period ends CloudWatch is expected to have its datapoint (load-balancer metrics lag). */
  metricsDelaySeconds: int(0, 900, " seconds").default(90),
  /** Load-balancer 5xx attributed to the new slot fail the step from this share of its requests (cloudwatch.ts). */
  loadBalancerErrorPercent: z
    .number({ error: (issue) => (issue.input === undefined ? "is required" : "must be a number") })
    .min(0.1, "must be between 0.1 and 100 (percent of the new slot's requests)")
    .max(100, "must be between 0.1 and 100 (percent of the new slot's requests)")
    .default(1),
  /** Derived from the listener ARN; if given, it must agree. */
  loadBalancerDimension: text().optional(),
  /** Least time between two observations of the environment (keeps passes under AWS's rate limits). */
  pollIntervalMs: int(0, 60_000, " ms").default(2000),
  retry: retrySettingsSchema.default(retrySettingsSchema.parse({})),
  /** Another account's resources: the role the panel assumes for them (STS AssumeRole). */
  assumeRole: assumeRoleSchema.optional(),
  /** The charts' own high-resolution metrics (cloudwatch.ts); without them the charts use the load balancer's. */
  highResolutionMetrics: highResolutionSchema.optional(),
  /** CloudWatch alarms that fail a step while any of them is in ALARM (alarms.ts). */
  alarmNames: z
    .array(
      text("a string")
        .min(1, "must be 1 to 255 characters")
        .max(255, "must be 1 to 255 characters")
        // eslint-disable-next-line no-control-regex
        .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), "must not contain control characters"),
      { error: (issue) => (issue.input === undefined ? "is required" : "must be a list of CloudWatch alarm names") },
    )
    .max(100, "must list at most 100 alarms")
    .optional(),
});

export type EcsConfigInput = z.input<typeof schema>;

/** A listener's default action, or a listener rule's action (with the listener it belongs to). */
export type EcsRoute = { kind: "listener"; arn: string } | { kind: "rule"; arn: string; listenerArn: string };

export interface EcsConfig {
  region: string;
  /** As configured (name or ARN); `clusterName` is the name part, for Application Auto Scaling. */
  cluster: string;
  clusterName: string;
  services: { blue: string; green: string };
  /** The first of `routes` (where the panel reads the weights it shows when all routes agree). */
  route: EcsRoute;
  /** Every listener and rule whose forward action holds the weights; each step sets them all. */
  routes: EcsRoute[];
  targetGroups: { blue: string; green: string };
  testListenerArn: string | undefined;
  smokeTestBaseUrls: { blue: string; green: string } | undefined;
  containerName: string;
  stickinessSeconds: number;
  steadyStateTimeoutSeconds: number;
  metricsPeriodSeconds: number;
  metricsDelaySeconds: number;
  loadBalancerErrorPercent: number;
  /** CloudWatch's LoadBalancer dimension: `app/<name>/<id>`. */
  loadBalancerDimension: string;
  /** CloudWatch's TargetGroup dimension per slot: `targetgroup/<name>/<id>`. */
  targetGroupDimensions: { blue: string; green: string };
  accountId: string;
  partition: string;
  pollIntervalMs: number;
  retry: RetrySettings;
  assumeRole: AssumeRoleSettings | undefined;
  alarmNames: string[];
  highResolutionMetrics: HighResolutionSettings | undefined;
}

/** `stored`: the configuration as it is kept in Environment.targetConfig (input with defaults filled in). */
export type EcsConfigResult =
  { ok: true; config: EcsConfig; stored: z.output<typeof schema> } | { ok: false; field: string; error: string };

/** `field` is the setting's path (`listenerArns[1]`); the error names it in words ("Listener ARNs (item 2): …"). */
function fail(field: string, message: string, error = `${fieldLabel(field)}: ${message}`): EcsConfigResult {
  return { ok: false, field: field.split(/[.[]/)[0] || "config", error };
}

/** A field's path as people write it: `listenerArns[1]`, `targetGroups.green`. */
const fieldPath = (path: readonly PropertyKey[]) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");

/** Parses and checks an environment's ECS configuration without calling AWS. */
export function validateEcsConfig(raw: unknown): EcsConfigResult {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return fail("config", "must be an object");
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const prefix = issue.path.length ? `${fieldPath(issue.path)}.` : "";
      // A typo's words would not help: the name as written does.
      const key = `${prefix}${issue.keys[0]}`;
      return fail(key, "", `"${key}" is not a setting of the ECS target`);
    }
    return fail(issue.path.length ? fieldPath(issue.path) : "config", issue.message);
  }
  const c = parsed.data;

  if (c.listenerArn && c.listenerRuleArn) {
    return fail(
      "listenerRuleArn",
      "give either a listener ARN or a listener rule ARN, not both (to shift a listener's default action and a rule together, list them under listener ARNs and listener rule ARNs)",
    );
  }
  if (c.listenerArn && c.listenerArns)
    return fail("listenerArns", "give either one listener ARN or a list of listener ARNs, not both");
  if (c.listenerRuleArn && c.listenerRuleArns)
    return fail("listenerRuleArns", "give either one listener rule ARN or a list of listener rule ARNs, not both");
  const listed: { field: string; kind: "listener" | "rule"; arn: string }[] = [
    ...(c.listenerArn ? [{ field: "listenerArn", kind: "listener" as const, arn: c.listenerArn }] : []),
    ...(c.listenerArns ?? []).map((arn, i) => ({ field: `listenerArns[${i}]`, kind: "listener" as const, arn })),
    ...(c.listenerRuleArn ? [{ field: "listenerRuleArn", kind: "rule" as const, arn: c.listenerRuleArn }] : []),
    ...(c.listenerRuleArns ?? []).map((arn, i) => ({ field: `listenerRuleArns[${i}]`, kind: "rule" as const, arn })),
  ];
  if (listed.length === 0)
    return fail(
      "listenerArn",
      "is required (or a listener rule ARN, when traffic is routed by a listener rule; lists of listener ARNs and listener rule ARNs for several)",
    );
  if (listed.length > MAX_ROUTES)
    return fail("listenerRuleArns", `together with the listeners, at most ${MAX_ROUTES} routes`);

  const routes: EcsRoute[] = [];
  let first: { field: string; partition: string; account: string; loadBalancer: string } | null = null;
  const listenerIds = new Set<string>();
  for (const [index, item] of listed.entries()) {
    const twice = listed.findIndex((other) => other.arn === item.arn);
    if (twice < index) return fail(item.field, `is listed twice (also as ${fieldWords(listed[twice]!.field)})`);
    const m = (item.kind === "listener" ? LISTENER_ARN : LISTENER_RULE_ARN).exec(item.arn)!;
    const [, partition, region, account, loadBalancer, listenerId] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (region !== c.region)
      return fail(item.field, `is in region ${region}, but the environment's region is ${c.region}`);
    if (partition !== partitionOfRegion(region))
      return fail(item.field, `is in partition ${partition}, but region ${region} is in ${partitionOfRegion(region)}`);
    if (first && loadBalancer !== first.loadBalancer) {
      return fail(
        item.field,
        `is on load balancer ${loadBalancer}, but the ${fieldWords(first.field)} is on ${first.loadBalancer} (both target groups belong to one load balancer)`,
      );
    }
    first ??= { field: item.field, partition, account, loadBalancer };
    listenerIds.add(listenerId);
    routes.push(
      item.kind === "listener"
        ? { kind: "listener", arn: item.arn }
        : {
            kind: "rule",
            arn: item.arn,
            listenerArn: `arn:${partition}:elasticloadbalancing:${region}:${account}:listener/${loadBalancer}/${listenerId}`,
          },
    );
  }
  const { field: routeField, partition, account, loadBalancer } = first!;
  const listenerArns = new Set(routes.filter((r) => r.kind === "listener").map((r) => r.arn));

  const dims = { blue: "", green: "" };
  for (const slot of ["blue", "green"] as const) {
    const m = TARGET_GROUP_ARN.exec(c.targetGroups[slot])!;
    if (m[2] !== c.region)
      return fail(`targetGroups.${slot}`, `is in region ${m[2]}, but the environment's region is ${c.region}`);
    if (m[3] !== account)
      return fail(`targetGroups.${slot}`, `belongs to account ${m[3]}, but the load balancer belongs to ${account}`);
    if (m[1] !== partition)
      return fail(`targetGroups.${slot}`, `is in partition ${m[1]}, but the load balancer is in ${partition}`);
    dims[slot] = m[4]!;
  }
  if (c.targetGroups.blue === c.targetGroups.green)
    return fail("targetGroups.green", "must differ from the blue target group");
  if (c.services.blue === c.services.green) return fail("services.green", "must differ from the blue service");

  const clusterArn = CLUSTER_ARN.exec(c.cluster);
  if (clusterArn && clusterArn[2] !== c.region)
    return fail("cluster", `is in region ${clusterArn[2]}, but the environment's region is ${c.region}`);
  if (clusterArn && clusterArn[1] !== partition)
    return fail("cluster", `is in partition ${clusterArn[1]}, but the load balancer is in ${partition}`);

  if (c.loadBalancerDimension !== undefined && c.loadBalancerDimension !== loadBalancer) {
    return fail(
      "loadBalancerDimension",
      `must be ${loadBalancer} (derived from the ${fieldWords(routeField)}); leave it out to derive it`,
    );
  }
  if (c.testListenerArn) {
    const t = LISTENER_ARN.exec(c.testListenerArn)!;
    if (t[4] !== loadBalancer)
      return fail("testListenerArn", `must be a listener of the same load balancer (${loadBalancer})`);
    if (listenerArns.has(c.testListenerArn))
      return fail(
        "testListenerArn",
        "must differ from the listeners that carry production traffic (they would follow the smoke tests)",
      );
    if (routes.some((r) => r.kind === "rule") && listenerIds.has(t[5]!))
      return fail("testListenerArn", "must differ from the listener that holds a production listener rule");
    if (!c.smokeTestBaseUrls)
      return fail(
        "smokeTestBaseUrls",
        "is required with a test listener ARN: the URL (port and DNS name) the test listener answers on, for each slot",
      );
  }
  if (c.retry.maxDelayMs < c.retry.baseDelayMs) return fail("retry.maxDelayMs", "must be at least the base delay");
  const dimension =
    c.highResolutionMetrics?.dimensions.findIndex((d) => d.name === c.highResolutionMetrics!.slotDimension) ?? -1;
  if (dimension >= 0)
    return fail(
      `highResolutionMetrics.dimensions[${dimension}]`,
      `must not be the slot dimension (${c.highResolutionMetrics!.slotDimension})`,
    );
  const repeated = (c.alarmNames ?? []).findIndex((name, i) => c.alarmNames!.indexOf(name) !== i);
  if (repeated >= 0)
    return fail(
      `alarmNames[${repeated}]`,
      `is listed twice (also as ${fieldWords(`alarmNames[${c.alarmNames!.indexOf(c.alarmNames![repeated]!)}]`)})`,
    );
  if (c.assumeRole) {
    const [, rolePartition, roleAccount] = ROLE_ARN.exec(c.assumeRole.roleArn)!;
    if (rolePartition !== partition)
      return fail("assumeRole.roleArn", `is in partition ${rolePartition}, but the load balancer is in ${partition}`);
    if (roleAccount !== account)
      return fail(
        "assumeRole.roleArn",
        `is in account ${roleAccount}, but the load balancer belongs to ${account} (the role must be in the account whose resources it deploys)`,
      );
  }

  return {
    ok: true,
    stored: c,
    config: {
      region: c.region,
      cluster: c.cluster,
      clusterName: clusterArn ? clusterArn[4]! : c.cluster,
      services: c.services,
      route: routes[0]!,
      routes,
      targetGroups: c.targetGroups,
      testListenerArn: c.testListenerArn,
      smokeTestBaseUrls: c.smokeTestBaseUrls,
      containerName: c.containerName,
      stickinessSeconds: c.stickinessSeconds,
      steadyStateTimeoutSeconds: c.steadyStateTimeoutSeconds,
      metricsPeriodSeconds: c.metricsPeriodSeconds,
      metricsDelaySeconds: c.metricsDelaySeconds,
      loadBalancerErrorPercent: c.loadBalancerErrorPercent,
      loadBalancerDimension: loadBalancer,
      targetGroupDimensions: dims,
      accountId: account,
      partition,
      pollIntervalMs: c.pollIntervalMs,
      retry: c.retry,
      assumeRole: c.assumeRole,
      alarmNames: c.alarmNames ?? [],
      highResolutionMetrics: c.highResolutionMetrics,
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
export const scalableResourceId = (config: Pick<EcsConfig, "clusterName">, service: string) =>
  `service/${config.clusterName}/${service}`;

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
  testListenerArn:
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/my-alb/50dc6c495c0c9188/0467ef3c8400ae65",
  smokeTestBaseUrls: {
    blue: "https://my-alb-123.eu-west-1.elb.amazonaws.com:8443",
    green: "https://my-alb-123.eu-west-1.elb.amazonaws.com:8443",
  },
  containerName: "app",
  stickinessSeconds: 3600,
  steadyStateTimeoutSeconds: 600,
  metricsPeriodSeconds: 60,
};
