/**
 * The ECS target's configuration: static validation with messages that name the field, derived
 * CloudWatch dimensions, and the registry refusing an environment whose configuration does not
 * validate (a deployment never starts on one).
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import {
  EXAMPLE_ECS_CONFIG,
  partitionOfRegion,
  validateEcsConfig,
  type EcsConfigInput,
} from "../../server/targets/ecs/config.ts";
import { createTargetRegistry } from "../../server/targets/registry.ts";
import type { LocalTarget } from "../../server/targets/local/local-target.ts";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { LISTENER, RULE, sampleEcsConfigInput, TG_BLUE, TG_GREEN } from "../helpers/fake-aws.ts";

const valid = (): Record<string, unknown> => sampleEcsConfigInput();

/** The message people read: the setting in words. */
function errorOf(raw: unknown): string {
  const result = validateEcsConfig(raw);
  if (result.ok) throw new Error("expected a validation error");
  return result.error;
}

/** The setting for machines: its top-level name. */
function fieldOf(raw: unknown): string {
  const result = validateEcsConfig(raw);
  if (result.ok) throw new Error("expected a validation error");
  return result.field;
}

describe("validateEcsConfig", () => {
  it("accepts a minimal configuration, fills the defaults and derives the CloudWatch dimensions", () => {
    const result = validateEcsConfig(valid());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      region: "eu-west-1",
      clusterName: "shop",
      route: { kind: "listener", arn: LISTENER },
      loadBalancerDimension: "app/shop-alb/50dc6c495c0c9188",
      targetGroupDimensions: {
        blue: "targetgroup/checkout-blue/73e2d6bc24d8a067",
        green: "targetgroup/checkout-green/2453ed029918f21f",
      },
      stickinessSeconds: 3600,
      steadyStateTimeoutSeconds: 600,
      metricsPeriodSeconds: 60,
      accountId: "123456789012",
      retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5000, requestTimeoutMs: 10_000 },
    });
    // What is stored re-validates to the same configuration.
    const again = validateEcsConfig(JSON.parse(JSON.stringify(result.stored)));
    expect(again.ok && again.config).toEqual(result.config);
  });

  it("accepts a listener rule instead of a listener, and a cluster ARN", () => {
    const raw = {
      ...valid(),
      listenerArn: undefined,
      listenerRuleArn: RULE,
      cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop",
    };
    const result = validateEcsConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.route).toEqual({ kind: "rule", arn: RULE, listenerArn: LISTENER });
    expect(result.config.clusterName).toBe("shop");
    expect(result.config.loadBalancerDimension).toBe("app/shop-alb/50dc6c495c0c9188");
  });

  it("accepts the European Sovereign Cloud's partition with its region (aws-eusc, eusc-de-east-1)", () => {
    const eusc = (arn: string) => arn.replace("arn:aws:", "arn:aws-eusc:").replace("eu-west-1", "eusc-de-east-1");
    const raw = {
      ...valid(),
      region: "eusc-de-east-1",
      cluster: "arn:aws-eusc:ecs:eusc-de-east-1:123456789012:cluster/shop",
      listenerArn: eusc(LISTENER),
      targetGroups: { blue: eusc(TG_BLUE), green: eusc(TG_GREEN) },
    };
    const result = validateEcsConfig(raw);
    expect(result.ok && result.config).toMatchObject({
      region: "eusc-de-east-1",
      partition: "aws-eusc",
      clusterName: "shop",
      loadBalancerDimension: "app/shop-alb/50dc6c495c0c9188",
    });
    // A rule ARN in that partition too.
    expect(validateEcsConfig({ ...raw, listenerArn: undefined, listenerRuleArn: eusc(RULE) }).ok).toBe(true);
  });

  it.each([
    ["eu-west-1", "aws"],
    ["eusc-de-east-1", "aws-eusc"],
    ["cn-north-1", "aws-cn"],
    ["us-gov-west-1", "aws-us-gov"],
    ["us-isob-east-1", "aws-iso-b"],
  ])("the region %s is in the partition %s", (region, partition) => {
    expect(partitionOfRegion(region)).toBe(partition);
  });

  it("accepts several listeners and rules that shift together, in order, each rule with its listener", () => {
    const HTTPS = LISTENER.replace("f2f7dc8efc522ab2", "aa11bb22cc33dd44");
    const result = validateEcsConfig({
      ...valid(),
      listenerArn: undefined,
      listenerArns: [LISTENER, HTTPS],
      listenerRuleArns: [RULE],
    });
    expect(result.ok && result.config.routes).toEqual([
      { kind: "listener", arn: LISTENER },
      { kind: "listener", arn: HTTPS },
      { kind: "rule", arn: RULE, listenerArn: LISTENER },
    ]);
    expect(result.ok && result.config.route).toEqual({ kind: "listener", arn: LISTENER });
  });

  it("accepts a role to assume, with its external id and session name, and fills the session's defaults", () => {
    const result = validateEcsConfig({
      ...valid(),
      assumeRole: {
        roleArn: "arn:aws:iam::123456789012:role/deploy/greenlight-deployer",
        externalId: "checkout-prod-7f3a",
      },
    });
    expect(result.ok && result.config.assumeRole).toEqual({
      roleArn: "arn:aws:iam::123456789012:role/deploy/greenlight-deployer",
      externalId: "checkout-prod-7f3a",
      sessionName: "greenlight",
      durationSeconds: 3600,
    });
    expect(
      validateEcsConfig(valid()).ok &&
        (validateEcsConfig(valid()) as { config: { assumeRole: unknown } }).config.assumeRole,
    ).toBeUndefined();
  });

  it("the documented example validates", () => {
    expect(validateEcsConfig(EXAMPLE_ECS_CONFIG).ok).toBe(true);
  });

  it.each<[string, (c: Record<string, unknown>) => void, string, RegExp]>([
    [
      "a malformed listener ARN",
      (c) =>
        (c.listenerArn =
          "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop-alb/50dc6c495c0c9188"),
      "listenerArn",
      /^Listener ARN: must be an Application Load Balancer listener ARN/,
    ],
    [
      "a network load balancer's listener",
      (c) => (c.listenerArn = LISTENER.replace("/app/", "/net/")),
      "listenerArn",
      /^Listener ARN: must be an Application Load Balancer listener ARN/,
    ],
    [
      "an account id that is not 12 digits",
      (c) => (c.listenerArn = LISTENER.replace("123456789012", "12345")),
      "listenerArn",
      /^Listener ARN: /,
    ],
    [
      "a malformed target group ARN",
      (c) => ((c.targetGroups as Record<string, string>).green = "checkout-green"),
      "targetGroups",
      /^Green \(target groups\): must be a target-group ARN such as arn:aws:elasticloadbalancing/,
    ],
    ["a missing field", (c) => delete c.containerName, "containerName", /^Container name: is required$/],
    [
      "a missing slot",
      (c) => (c.services = { blue: "checkout-blue" }),
      "services",
      /^Green \(services\): is required$/,
    ],
    ["a bad region", (c) => (c.region = "Europe"), "region", /^Region: must be an AWS region such as eu-west-1$/],
    [
      "an ARN of the aws partition in a European Sovereign Cloud region",
      (c) => ((c.region = "eusc-de-east-1"), (c.listenerArn = LISTENER.replace("eu-west-1", "eusc-de-east-1"))),
      "listenerArn",
      /^Listener ARN: is in partition aws, but region eusc-de-east-1 is in aws-eusc$/,
    ],
    [
      "a target group in another partition than the load balancer",
      (c) => (
        (c.region = "eusc-de-east-1"),
        (c.listenerArn = LISTENER.replace("arn:aws:", "arn:aws-eusc:").replace("eu-west-1", "eusc-de-east-1")),
        (c.targetGroups = {
          blue: TG_BLUE.replace("eu-west-1", "eusc-de-east-1"),
          green: TG_GREEN.replace("arn:aws:", "arn:aws-eusc:").replace("eu-west-1", "eusc-de-east-1"),
        })
      ),
      "targetGroups",
      /^Blue \(target groups\): is in partition aws, but the load balancer is in aws-eusc$/,
    ],
    [
      "both a listener and a rule",
      (c) => (c.listenerRuleArn = RULE),
      "listenerRuleArn",
      /^Listener rule ARN: give either a listener ARN or a listener rule ARN, not both \(to shift a listener's default action and a rule together, list them under listener ARNs and listener rule ARNs\)$/,
    ],
    [
      "listenerArn and listenerArns together",
      (c) => (c.listenerArns = [LISTENER.replace("f2f7dc8efc522ab2", "aa11bb22cc33dd44")]),
      "listenerArns",
      /^Listener ARNs: give either one listener ARN or a list of listener ARNs, not both$/,
    ],
    [
      "an empty list of listeners",
      (c) => ((c.listenerArn = undefined), (c.listenerArns = [])),
      "listenerArns",
      /^Listener ARNs: must list at least one listener ARN$/,
    ],
    [
      "a list of listeners that is not a list",
      (c) => ((c.listenerArn = undefined), (c.listenerArns = LISTENER)),
      "listenerArns",
      /^Listener ARNs: must be a list of listener ARNs$/,
    ],
    [
      "a malformed listener in the list",
      (c) => ((c.listenerArn = undefined), (c.listenerArns = [LISTENER, "listener/https"])),
      "listenerArns",
      /^Listener ARNs \(item 2\): must be an Application Load Balancer listener ARN such as/,
    ],
    [
      "a malformed rule in the list",
      (c) => (c.listenerRuleArns = [LISTENER]),
      "listenerRuleArns",
      /^Listener rule ARNs \(item 1\): must be an Application Load Balancer listener-rule ARN such as/,
    ],
    [
      "a listener listed twice",
      (c) => ((c.listenerArn = undefined), (c.listenerArns = [LISTENER, LISTENER])),
      "listenerArns",
      /^Listener ARNs \(item 2\): is listed twice \(also as listener ARNs \(item 1\)\)$/,
    ],
    [
      "listeners of two load balancers",
      (c) => ((c.listenerArn = undefined), (c.listenerArns = [LISTENER, LISTENER.replace("shop-alb", "other-alb")])),
      "listenerArns",
      /^Listener ARNs \(item 2\): is on load balancer app\/other-alb\/50dc6c495c0c9188, but the listener ARNs \(item 1\) is on app\/shop-alb\/50dc6c495c0c9188 \(both target groups belong to one load balancer\)$/,
    ],
    [
      "eleven routes",
      (c) => (
        (c.listenerArn = undefined),
        (c.listenerArns = Array.from({ length: 11 }, (_, i) =>
          LISTENER.replace("f2f7dc8efc522ab2", `f2f7dc8efc522a${String(i).padStart(2, "0")}`),
        ))
      ),
      "listenerArns",
      /^Listener ARNs: must list at most 10 listeners$/,
    ],
    [
      "neither a listener nor a rule",
      (c) => delete c.listenerArn,
      "listenerArn",
      /^Listener ARN: is required \(or a listener rule ARN, when traffic is routed by a listener rule; lists of listener ARNs and listener rule ARNs for several\)$/,
    ],
    [
      "a listener in another region than configured",
      (c) => (c.region = "us-east-1"),
      "listenerArn",
      /^Listener ARN: is in region eu-west-1, but the environment's region is us-east-1$/,
    ],
    [
      "a target group in another account",
      (c) => ((c.targetGroups as Record<string, string>).blue = TG_BLUE.replace("123456789012", "210987654321")),
      "targetGroups",
      /^Blue \(target groups\): belongs to account 210987654321/,
    ],
    [
      "the same target group twice",
      (c) => ((c.targetGroups as Record<string, string>).green = TG_BLUE),
      "targetGroups",
      /^Green \(target groups\): must differ from the blue target group$/,
    ],
    [
      "the same service twice",
      (c) => (c.services = { blue: "checkout", green: "checkout" }),
      "services",
      /^Green \(services\): must differ/,
    ],
    [
      "stickiness out of range",
      (c) => (c.stickinessSeconds = 604_801),
      "stickinessSeconds",
      /^Stickiness in seconds: must be between 1 and 604800 seconds$/,
    ],
    [
      "a metrics period that is not whole minutes",
      (c) => (c.metricsPeriodSeconds = 90),
      "metricsPeriodSeconds",
      /^Metrics period in seconds: must be a multiple of 60/,
    ],
    [
      "a load balancer dimension that disagrees with the listener",
      (c) => (c.loadBalancerDimension = "app/other/0123456789abcdef"),
      "loadBalancerDimension",
      /^Load balancer dimension: must be app\/shop-alb\/50dc6c495c0c9188/,
    ],
    [
      "a test listener without smoke-test URLs",
      (c) => (c.testListenerArn = LISTENER.replace("f2f7dc8efc522ab2", "0467ef3c8400ae65")),
      "smokeTestBaseUrls",
      /^Smoke test base URLs: is required with a test listener ARN/,
    ],
    [
      "a test listener on another load balancer",
      (c) => (
        (c.testListenerArn = LISTENER.replace("shop-alb", "other")),
        (c.smokeTestBaseUrls = { blue: "https://a.test", green: "https://a.test" })
      ),
      "testListenerArn",
      /^Test listener ARN: must be a listener of the same load balancer/,
    ],
    [
      "the production listener as test listener",
      (c) => (
        (c.testListenerArn = LISTENER),
        (c.smokeTestBaseUrls = { blue: "https://a.test", green: "https://a.test" })
      ),
      "testListenerArn",
      /^Test listener ARN: must differ from the listeners that carry production traffic/,
    ],
    [
      "a smoke-test URL that is not http",
      (c) => (c.smokeTestBaseUrls = { blue: "ftp://a.test", green: "https://a.test" }),
      "smokeTestBaseUrls",
      /^Blue \(smoke test base URLs\): must be an http:\/\/ or https:\/\/ URL$/,
    ],
    [
      "retry attempts out of range",
      (c) => (c.retry = { maxAttempts: 0 }),
      "retry",
      /^Maximum attempts \(retry\): must be between 1 and 10$/,
    ],
    [
      "a load-balancer error share of 0",
      (c) => (c.loadBalancerErrorPercent = 0),
      "loadBalancerErrorPercent",
      /^Load balancer error in percent: must be between 0\.1 and 100 \(percent of the new slot's requests\)$/,
    ],
    [
      "a load-balancer error share as text",
      (c) => (c.loadBalancerErrorPercent = "1%"),
      "loadBalancerErrorPercent",
      /^Load balancer error in percent: must be a number$/,
    ],
    [
      "an unknown setting (a typo)",
      (c) => (c.listnerArn = LISTENER),
      "listnerArn",
      /^"listnerArn" is not a setting of the ECS target$/,
    ],
    [
      "a role that is not an IAM role ARN",
      (c) => (c.assumeRole = { roleArn: "greenlight-deployer" }),
      "assumeRole",
      /^Role ARN \(assume role\): must be an IAM role ARN such as arn:aws:iam::210987654321:role\/greenlight-deployer$/,
    ],
    [
      "a user instead of a role",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::123456789012:user/deployer" }),
      "assumeRole",
      /^Role ARN \(assume role\): must be an IAM role ARN/,
    ],
    [
      "a role without its ARN",
      (c) => (c.assumeRole = { externalId: "abc" }),
      "assumeRole",
      /^Role ARN \(assume role\): is required$/,
    ],
    [
      "a role given as a string",
      (c) => (c.assumeRole = "arn:aws:iam::123456789012:role/x"),
      "assumeRole",
      /^Assume role: must be an object with roleArn \(and externalId, sessionName\)$/,
    ],
    [
      "a role in another account than the load balancer",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::210987654321:role/greenlight-deployer" }),
      "assumeRole",
      /^Role ARN \(assume role\): is in account 210987654321, but the load balancer belongs to 123456789012 \(the role must be in the account whose resources it deploys\)$/,
    ],
    [
      "a role in another partition",
      (c) => (c.assumeRole = { roleArn: "arn:aws-cn:iam::123456789012:role/x" }),
      "assumeRole",
      /^Role ARN \(assume role\): is in partition aws-cn, but the load balancer is in aws$/,
    ],
    [
      "an external id of one character",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::123456789012:role/x", externalId: "a" }),
      "assumeRole",
      /^External ID \(assume role\): must be 2 to 1224 characters$/,
    ],
    [
      "an external id with a space",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::123456789012:role/x", externalId: "two words" }),
      "assumeRole",
      /^External ID \(assume role\): may contain only letters, digits and/,
    ],
    [
      "a session name of 65 characters",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::123456789012:role/x", sessionName: "s".repeat(65) }),
      "assumeRole",
      /^Session name \(assume role\): must be 2 to 64 characters$/,
    ],
    [
      "a session shorter than STS allows",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::123456789012:role/x", durationSeconds: 60 }),
      "assumeRole",
      /^Duration in seconds \(assume role\): must be between 900 and 43200 seconds$/,
    ],
    [
      "alarm names that are not a list",
      (c) => (c.alarmNames = "checkout-5xx"),
      "alarmNames",
      /^Alarm names: must be a list of CloudWatch alarm names$/,
    ],
    [
      "an empty alarm name",
      (c) => (c.alarmNames = ["checkout-5xx", ""]),
      "alarmNames",
      /^Alarm names \(item 2\): must be 1 to 255 characters$/,
    ],
    [
      "an alarm name of 256 characters",
      (c) => (c.alarmNames = ["a".repeat(256)]),
      "alarmNames",
      /^Alarm names \(item 1\): must be 1 to 255 characters$/,
    ],
    [
      "an alarm name with a control character",
      (c) => (c.alarmNames = ["checkout\u0007"]),
      "alarmNames",
      /^Alarm names \(item 1\): must not contain control characters$/,
    ],
    [
      "an alarm listed twice",
      (c) => (c.alarmNames = ["a", "b", "a"]),
      "alarmNames",
      /^Alarm names \(item 3\): is listed twice \(also as alarm names \(item 1\)\)$/,
    ],
    [
      "101 alarms",
      (c) => (c.alarmNames = Array.from({ length: 101 }, (_, i) => `alarm-${i}`)),
      "alarmNames",
      /^Alarm names: must list at most 100 alarms$/,
    ],
    [
      "high-resolution metrics in an AWS namespace",
      (c) => (c.highResolutionMetrics = { namespace: "AWS/ApplicationELB" }),
      "highResolutionMetrics",
      /^Namespace \(high resolution metrics\): must be your own namespace \(AWS\/ is for AWS services' metrics\)$/,
    ],
    [
      "a high-resolution period that is not one",
      (c) => (c.highResolutionMetrics = { namespace: "Checkout", periodSeconds: 15 }),
      "highResolutionMetrics",
      /^Period in seconds \(high resolution metrics\): must be 1, 5, 10 or 30 \(the high-resolution periods\)$/,
    ],
    [
      "the slot dimension among the fixed ones",
      (c) => (c.highResolutionMetrics = { namespace: "Checkout", dimensions: [{ name: "Slot", value: "x" }] }),
      "highResolutionMetrics",
      /^Dimensions \(high resolution metrics, item 1\): must not be the slot dimension \(Slot\)$/,
    ],
    [
      "a dimension without a value",
      (c) => (c.highResolutionMetrics = { namespace: "Checkout", dimensions: [{ name: "Service" }] }),
      "highResolutionMetrics",
      /^Value \(high resolution metrics, dimensions, item 1\): is required$/,
    ],
    [
      "an unknown role setting",
      (c) => (c.assumeRole = { roleArn: "arn:aws:iam::123456789012:role/x", externalID: "abc" }),
      "assumeRole",
      /^"assumeRole\.externalID" is not a setting of the ECS target$/,
    ],
  ])("refuses %s, naming the field", (_what, change, field, message) => {
    const raw = valid();
    change(raw);
    expect(errorOf(raw)).toMatch(message);
    expect(fieldOf(raw)).toBe(field);
  });

  it("refuses what is not an object", () => {
    expect(errorOf(null)).toBe("Configuration: must be an object");
    expect(errorOf("arn:aws:…")).toBe("Configuration: must be an object");
    expect(fieldOf(null)).toBe("config");
  });
});

describe("the target registry", () => {
  const registry = createTargetRegistry({
    local: {} as LocalTarget,
    prisma: {} as PrismaClient,
    log: pino({ level: "silent" }),
  });

  it("returns the static validation error for an ECS configuration, and null for a valid one", () => {
    expect(registry.validateConfig("ecs", {})).toBe("Region: is required");
    expect(registry.validateConfig("ecs", { ...valid(), listenerRuleArn: RULE })).toMatch(
      /^Listener rule ARN: give either/,
    );
    expect(registry.validateConfig("ecs", valid() as EcsConfigInput)).toBeNull();
    expect(registry.validateConfig("local", {})).toBeNull();
  });

  it("drives ECS environments with the ECS target", () => {
    expect(registry.driver("ecs").kind).toBe("ecs");
    expect(registry.driver("ecs")).toBe(registry.ecs);
  });
});
