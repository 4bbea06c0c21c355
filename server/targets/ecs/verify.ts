/**
 * Checks an ECS configuration against AWS (read-only calls): the listener (or rule) forwards to both
 * target groups, the test listener exists, both services exist in the cluster, are ACTIVE, use the
 * rolling (ECS) deployment controller, register into their own target group, and run a task
 * definition with the configured container.
 */
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, type Service } from "@aws-sdk/client-ecs";
import { SLOTS } from "../driver.ts";
import type { EcsClients } from "./clients.ts";
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

const message = (error: unknown) => (error instanceof Error ? `${error.name !== "Error" ? `${error.name}: ` : ""}${error.message}` : String(error));

export async function verifyEcsConfigAgainstAws(clients: EcsClients, config: EcsConfig): Promise<VerifyResult> {
  const checks: VerifyCheck[] = [];
  const add = (check: string, level: VerifyCheck["level"], detail: string) => checks.push({ check, level, detail });

  const ref: RouteRef = config.route.kind === "listener" ? { kind: "listener", arn: config.route.arn } : { kind: "rule", arn: config.route.arn };
  const routeName = ref.kind === "listener" ? "listener" : "listener rule";
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
      add("route", "ok", `the ${routeName} forwards to both target groups (blue ${state.weights.blue}%, green ${state.weights.green}%)`);
    }
    if (state.foreign.length > 0) add("route", "warning", `the ${routeName} also forwards to ${state.foreign.join(", ")}; the first weight change will remove it`);
  } catch (error) {
    add("route", "error", `cannot read the ${routeName}: ${message(error)}`);
  }

  if (config.testListenerArn) {
    try {
      routeState({ kind: "listener", arn: config.testListenerArn }, await readActions(clients.elb, { kind: "listener", arn: config.testListenerArn }), config);
      add("test listener", "ok", "the test listener exists and has a forward action; smoke tests point it at the slot under test");
    } catch (error) {
      add("test listener", "error", `cannot use the test listener: ${message(error)}`);
    }
  }

  let services: Service[] = [];
  try {
    const out = await clients.ecs.send(new DescribeServicesCommand({ cluster: config.cluster, services: [config.services.blue, config.services.green] }));
    services = out.services ?? [];
    for (const slot of SLOTS) {
      const name = config.services[slot];
      const service = services.find((s) => s.serviceName === name);
      if (!service) {
        const failure = out.failures?.find((f) => f.arn?.endsWith(`/${name}`));
        add(`${slot} service`, "error", `service "${name}" does not exist in cluster ${config.cluster}${failure?.reason ? ` (${failure.reason})` : ""}`);
        continue;
      }
      if (service.status !== "ACTIVE") add(`${slot} service`, "error", `service "${name}" is ${service.status}`);
      else add(`${slot} service`, "ok", `service "${name}" exists in ${config.cluster}: ${service.runningCount ?? 0}/${service.desiredCount ?? 0} tasks running`);
      const controller = service.deploymentController?.type ?? "ECS";
      if (controller !== "ECS") add(`${slot} service`, "error", `service "${name}" uses the ${controller} deployment controller; the panel needs ECS (rolling update)`);
      const lbs = service.loadBalancers ?? [];
      const own = lbs.find((lb) => lb.targetGroupArn === config.targetGroups[slot]);
      if (!own) add(`${slot} service`, "error", `service "${name}" does not register its tasks in targetGroups.${slot} (it uses ${lbs.map((lb) => lb.targetGroupArn).join(", ") || "no target group"})`);
      else if (own.containerName && own.containerName !== config.containerName) {
        add(`${slot} service`, "error", `service "${name}" registers container "${own.containerName}" in its target group, but containerName is "${config.containerName}"`);
      }
      if (service.taskDefinition) {
        const td = await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }));
        const names = td.taskDefinition?.containerDefinitions?.map((c) => c.name) ?? [];
        if (!names.includes(config.containerName)) add(`${slot} service`, "error", `its task definition has no container "${config.containerName}" (it has ${names.join(", ") || "none"})`);
      }
    }
  } catch (error) {
    add("services", "error", `cannot describe the services: ${message(error)}`);
  }

  const problems = checks.filter((c) => c.level === "error").map((c) => `${c.check}: ${c.detail}`);
  return { ok: problems.length === 0, checks, problems };
}
