/**
 * Checks an ECS configuration against AWS (read-only calls): every listener (or rule) forwards to both
 * target groups, the test listener exists, both services exist in the cluster, are ACTIVE, leave
 * traffic shifting to the panel (the ECS controller with the ROLLING strategy, no alternate target
 * group), register into their own target group, and run a task definition with the configured
 * container. Nothing is written, whatever the outcome.
 */
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, type Service } from "@aws-sdk/client-ecs";
import { SLOTS } from "../driver.ts";
import { alarmSignals, describeAlarms } from "./alarms.ts";
import { MissingResource, namingMissing, type EcsClients } from "./clients.ts";
import type { EcsConfig } from "./config.ts";
import { readActions, routeState, type RouteRef } from "./route.ts";

export interface VerifyCheck {
  check: string;
  level: "ok" | "warning" | "error";
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  checks: VerifyCheck[];
  /** The errors, one line each (empty when ok). */
  problems: string[];
}

/**
 * Why a service would shift the listener's traffic itself, which would fight the panel's own shift
 * (the panel's UpdateService would start it), naming the service and the setting; null when it
 * leaves shifting to the panel. Current ECS services can shift weights themselves with the
 * BLUE_GREEN, LINEAR or CANARY strategy (and an alternate target group), or through CodeDeploy.
 */
export function ownTrafficShifting(service: Service): string | null {
  const name = `service "${service.serviceName ?? "?"}"`;
  const controller = service.deploymentController?.type ?? "ECS";
  if (controller !== "ECS") {
    return `${name} uses the ${controller} deployment controller (deploymentController.type): ${controller === "CODE_DEPLOY" ? "CodeDeploy shifts the listener's traffic itself" : "another tool deploys it"}, which would fight the panel's shift; the panel needs the ECS controller with the ROLLING strategy`;
  }
  const strategy = service.deploymentConfiguration?.strategy;
  if (strategy && strategy !== "ROLLING") {
    return `${name} has deploymentConfiguration.strategy ${strategy}: ECS shifts the listener's traffic itself, which would fight the panel's shift; set it to ROLLING`;
  }
  const index = (service.loadBalancers ?? []).findIndex((lb) => lb.advancedConfiguration);
  if (index >= 0) {
    const alternate = service.loadBalancers![index]!.advancedConfiguration!.alternateTargetGroupArn;
    return `${name} has loadBalancers[${index}].advancedConfiguration${alternate ? ` (alternate target group ${alternate})` : ""}: ECS would shift the listener's traffic itself; remove it, the panel shifts between the two services`;
  }
  return null;
}

const message = (error: unknown) =>
  error instanceof Error ? `${error.name !== "Error" ? `${error.name}: ` : ""}${error.message}` : String(error);
/** A missing resource says so in full; any other failure is prefixed with what could not be done. */
const failed = (what: string, error: unknown) =>
  error instanceof MissingResource ? error.message : `${what}: ${message(error)}`;

/** `where` names the environment in messages (`environment production of checkout`). */
export async function verifyEcsConfigAgainstAws(
  awsClients: EcsClients,
  config: EcsConfig,
  where = "the configuration being checked",
): Promise<VerifyResult> {
  const clients = namingMissing(awsClients, where);
  const checks: VerifyCheck[] = [];
  const add = (check: string, level: VerifyCheck["level"], detail: string) => checks.push({ check, level, detail });

  if (clients.assumedRole) {
    const { settings, credentials } = clients.assumedRole;
    try {
      const c = await credentials();
      add(
        "role",
        "ok",
        `assumed ${settings.roleArn} as session ${settings.sessionName}${settings.externalId ? " with the external id" : ""}${c.expiration ? `; credentials valid until ${c.expiration.toISOString().slice(11, 16)} UTC and renewed before then` : ""}`,
      );
    } catch (error) {
      // Nothing else can be read without the role.
      add("role", "error", (error as Error).message);
      return result(checks);
    }
  }

  for (const route of config.routes) {
    const ref: RouteRef = { kind: route.kind, arn: route.arn };
    // With several routes, each is named by its ARN.
    const routeName = `${ref.kind === "listener" ? "listener" : "listener rule"}${config.routes.length > 1 ? ` ${ref.arn}` : ""}`;
    try {
      const state = routeState(ref, await readActions(clients.elb, ref), config);
      const attached = new Set(state.targetGroups.map((t) => t.arn));
      const missing = SLOTS.filter((slot) => !attached.has(config.targetGroups[slot]));
      if (missing.length > 0) {
        add(
          "route",
          "error",
          `target groups not attached to the ${routeName}: ${missing.map((slot) => `${slot} (${config.targetGroups[slot]})`).join(", ")}. Its forward action must list both target groups (weights may be 0).`,
        );
      } else {
        add(
          "route",
          "ok",
          `the ${routeName} forwards to both target groups (blue ${state.weights.blue}%, green ${state.weights.green}%)`,
        );
      }
      if (state.foreign.length > 0)
        add(
          "route",
          "warning",
          `the ${routeName} also forwards to ${state.foreign.join(", ")}; the first weight change will remove it`,
        );
    } catch (error) {
      add("route", "error", failed(`cannot read the ${routeName}`, error));
    }
  }

  if (config.testListenerArn) {
    try {
      routeState(
        { kind: "listener", arn: config.testListenerArn },
        await readActions(clients.elb, { kind: "listener", arn: config.testListenerArn }),
        config,
      );
      add(
        "test listener",
        "ok",
        "the test listener exists and has a forward action; smoke tests point it at the slot under test",
      );
    } catch (error) {
      add("test listener", "error", failed("cannot use the test listener", error));
    }
  }

  let services: Service[] = [];
  try {
    const out = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: config.cluster, services: [config.services.blue, config.services.green] }),
    );
    services = out.services ?? [];
    for (const slot of SLOTS) {
      const name = config.services[slot];
      const service = services.find((s) => s.serviceName === name);
      if (!service) {
        const failure = out.failures?.find((f) => f.arn?.endsWith(`/${name}`));
        const why = failure?.reason && failure.reason !== "MISSING" ? `, ${failure.reason}` : "";
        add(`${slot} service`, "error", `service ${name} does not exist in cluster ${config.cluster} (${where}${why})`);
        continue;
      }
      if (service.status !== "ACTIVE") add(`${slot} service`, "error", `service "${name}" is ${service.status}`);
      else
        add(
          `${slot} service`,
          "ok",
          `service "${name}" exists in ${config.cluster}: ${service.runningCount ?? 0}/${service.desiredCount ?? 0} tasks running`,
        );
      const shifting = ownTrafficShifting(service);
      if (shifting) add(`${slot} service`, "error", shifting);
      const lbs = service.loadBalancers ?? [];
      const own = lbs.find((lb) => lb.targetGroupArn === config.targetGroups[slot]);
      if (!own)
        add(
          `${slot} service`,
          "error",
          `service "${name}" does not register its tasks in targetGroups.${slot} (it uses ${lbs.map((lb) => lb.targetGroupArn).join(", ") || "no target group"})`,
        );
      else if (own.containerName && own.containerName !== config.containerName) {
        add(
          `${slot} service`,
          "error",
          `service "${name}" registers container "${own.containerName}" in its target group, but containerName is "${config.containerName}"`,
        );
      }
      if (service.taskDefinition) {
        const td = await clients.ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }),
        );
        const names = td.taskDefinition?.containerDefinitions?.map((c) => c.name) ?? [];
        if (!names.includes(config.containerName))
          add(
            `${slot} service`,
            "error",
            `its task definition has no container "${config.containerName}" (it has ${names.join(", ") || "none"})`,
          );
      }
    }
  } catch (error) {
    add("services", "error", failed("cannot describe the services", error));
  }

  if (config.alarmNames.length > 0) {
    try {
      const states = await describeAlarms(clients.cloudwatch, config.alarmNames);
      alarmSignals(config.alarmNames, states, where);
      const firing = states.filter((s) => s.state === "ALARM").map((s) => s.name);
      add(
        "alarms",
        "ok",
        `${config.alarmNames.length} alarm${config.alarmNames.length === 1 ? "" : "s"} found: ${states.map((s) => `${s.name} (${s.state})`).join(", ")}`,
      );
      if (firing.length > 0)
        add(
          "alarms",
          "warning",
          `${firing.join(", ")} ${firing.length === 1 ? "is" : "are"} in ALARM now: a deployment's first step would fail`,
        );
    } catch (error) {
      add("alarms", "error", failed("cannot read the alarms", error));
    }
  }

  return result(checks);
}

function result(checks: VerifyCheck[]): VerifyResult {
  const problems = checks.filter((c) => c.level === "error").map((c) => `${c.check}: ${c.detail}`);
  return { ok: problems.length === 0, checks, problems };
}
