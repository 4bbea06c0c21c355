/**
 * The ECS target's configuration: static validation with messages that name the field, derived
 * CloudWatch dimensions, and the registry refusing an environment whose configuration does not
 * validate (a deployment never starts on one).
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { EXAMPLE_ECS_CONFIG, validateEcsConfig, type EcsConfigInput } from "../../server/targets/ecs/config.ts";
import { createTargetRegistry } from "../../server/targets/registry.ts";
import type { LocalTarget } from "../../server/targets/local/local-target.ts";
import type { PrismaClient } from "../../server/db/generated/client.ts";
import { LISTENER, RULE, TG_BLUE, TG_GREEN } from "../helpers/fake-aws.ts";


const valid = (): Record<string, unknown> => ({
  region: "eu-west-1",
  cluster: "shop",
  services: { blue: "checkout-blue", green: "checkout-green" },
  listenerArn: LISTENER,
  targetGroups: { blue: TG_BLUE, green: TG_GREEN },
  containerName: "app",
});

function errorOf(raw: unknown): string {
  const result = validateEcsConfig(raw);
  if (result.ok) throw new Error("expected a validation error");
  return result.error;
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
      targetGroupDimensions: { blue: "targetgroup/checkout-blue/73e2d6bc24d8a067", green: "targetgroup/checkout-green/2453ed029918f21f" },
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
    const raw = { ...valid(), listenerArn: undefined, listenerRuleArn: RULE, cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop" };
    const result = validateEcsConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.route).toEqual({ kind: "rule", arn: RULE, listenerArn: LISTENER });
    expect(result.config.clusterName).toBe("shop");
    expect(result.config.loadBalancerDimension).toBe("app/shop-alb/50dc6c495c0c9188");
  });

  it("the documented example validates", () => {
    expect(validateEcsConfig(EXAMPLE_ECS_CONFIG).ok).toBe(true);
  });

  it.each<[string, (c: Record<string, unknown>) => void, RegExp]>([
    ["a malformed listener ARN", (c) => (c.listenerArn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop-alb/50dc6c495c0c9188"), /^listenerArn: must be an Application Load Balancer listener ARN/],
    ["a network load balancer's listener", (c) => (c.listenerArn = LISTENER.replace("/app/", "/net/")), /^listenerArn: must be an Application Load Balancer listener ARN/],
    ["an account id that is not 12 digits", (c) => (c.listenerArn = LISTENER.replace("123456789012", "12345")), /^listenerArn: /],
    ["a malformed target group ARN", (c) => ((c.targetGroups as Record<string, string>).green = "checkout-green"), /^targetGroups\.green: must be a target-group ARN such as arn:aws:elasticloadbalancing/],
    ["a missing field", (c) => delete c.containerName, /^containerName: is required$/],
    ["a missing slot", (c) => (c.services = { blue: "checkout-blue" }), /^services\.green: is required$/],
    ["a bad region", (c) => (c.region = "Europe"), /^region: must be an AWS region such as eu-west-1$/],
    ["both a listener and a rule", (c) => (c.listenerRuleArn = RULE), /^listenerRuleArn: give either listenerArn or listenerRuleArn, not both$/],
    ["neither a listener nor a rule", (c) => delete c.listenerArn, /^listenerArn: is required \(or listenerRuleArn/],
    ["a listener in another region than configured", (c) => (c.region = "us-east-1"), /^listenerArn: is in region eu-west-1, but region is us-east-1$/],
    ["a target group in another account", (c) => ((c.targetGroups as Record<string, string>).blue = TG_BLUE.replace("123456789012", "210987654321")), /^targetGroups\.blue: belongs to account 210987654321/],
    ["the same target group twice", (c) => ((c.targetGroups as Record<string, string>).green = TG_BLUE), /^targetGroups\.green: must differ from targetGroups\.blue$/],
    ["the same service twice", (c) => (c.services = { blue: "checkout", green: "checkout" }), /^services\.green: must differ/],
    ["stickiness out of range", (c) => (c.stickinessSeconds = 604_801), /^stickinessSeconds: must be between 1 and 604800 seconds$/],
    ["a metrics period that is not whole minutes", (c) => (c.metricsPeriodSeconds = 90), /^metricsPeriodSeconds: must be a multiple of 60/],
    ["a load balancer dimension that disagrees with the listener", (c) => (c.loadBalancerDimension = "app/other/0123456789abcdef"), /^loadBalancerDimension: must be app\/shop-alb\/50dc6c495c0c9188/],
    ["a test listener without smoke-test URLs", (c) => (c.testListenerArn = LISTENER.replace("f2f7dc8efc522ab2", "0467ef3c8400ae65")), /^smokeTestBaseUrls: is required with testListenerArn/],
    ["a test listener on another load balancer", (c) => ((c.testListenerArn = LISTENER.replace("shop-alb", "other")), (c.smokeTestBaseUrls = { blue: "https://a.test", green: "https://a.test" })), /^testListenerArn: must be a listener of the same load balancer/],
    ["the production listener as test listener", (c) => ((c.testListenerArn = LISTENER), (c.smokeTestBaseUrls = { blue: "https://a.test", green: "https://a.test" })), /^testListenerArn: must differ from listenerArn/],
    ["a smoke-test URL that is not http", (c) => (c.smokeTestBaseUrls = { blue: "ftp://a.test", green: "https://a.test" }), /^smokeTestBaseUrls\.blue: must be an http:\/\/ or https:\/\/ URL$/],
    ["retry attempts out of range", (c) => (c.retry = { maxAttempts: 0 }), /^retry\.maxAttempts: must be between 1 and 10$/],
    ["an unknown setting (a typo)", (c) => (c.listnerArn = LISTENER), /^listnerArn: is not a setting of the ECS target$/],
  ])("refuses %s, naming the field", (_what, change, message) => {
    const raw = valid();
    change(raw);
    expect(errorOf(raw)).toMatch(message);
  });

  it("refuses what is not an object", () => {
    expect(errorOf(null)).toBe("config: must be an object");
    expect(errorOf("arn:aws:…")).toBe("config: must be an object");
  });
});

describe("the target registry", () => {
  const registry = createTargetRegistry({ local: {} as LocalTarget, prisma: {} as PrismaClient, log: pino({ level: "silent" }) });

  it("returns the static validation error for an ECS configuration, and null for a valid one", () => {
    expect(registry.validateConfig("ecs", {})).toBe("region: is required");
    expect(registry.validateConfig("ecs", { ...valid(), listenerRuleArn: RULE })).toMatch(/^listenerRuleArn: give either/);
    expect(registry.validateConfig("ecs", valid() as EcsConfigInput)).toBeNull();
    expect(registry.validateConfig("local", {})).toBeNull();
  });

  it("drives ECS environments with the ECS target", () => {
    expect(registry.driver("ecs").kind).toBe("ecs");
    expect(registry.driver("ecs")).toBe(registry.ecs);
  });
});
