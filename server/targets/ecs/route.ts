/**
 * The ALB side of an ECS environment: reading each listener's (or rule's) forward action as weights
 * per slot, and building the action that sets new weights while keeping every other action
 * (authentication, for instance) as it is. An environment may route through several listeners and
 * rules; they are read in one call per kind and shift together.
 */
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Slot, Weights } from "../driver.ts";
import type { EcsConfig } from "./config.ts";

export type RouteRef = { kind: "listener"; arn: string } | { kind: "rule"; arn: string };

export interface RouteState {
  ref: RouteRef;
  actions: Action[];
  /** Index of the forward action in `actions`. */
  forwardIndex: number;
  /** Raw weights as AWS holds them, per target group ARN (a plain forward counts as weight 1). */
  targetGroups: { arn: string; weight: number }[];
  /** Percent per slot, as the load balancer routes it now. */
  weights: Weights;
  stickiness: { enabled: boolean; durationSeconds: number | null };
  /** Target groups in the forward action that are neither blue's nor green's. */
  foreign: string[];
}

export const describeRoute = (ref: RouteRef) => `${ref.kind === "listener" ? "listener" : "listener rule"} ${ref.arn}`;

export async function readActions(elb: ElasticLoadBalancingV2Client, ref: RouteRef): Promise<Action[]> {
  return (await readAllActions(elb, [ref]))[0]!;
}

/** The actions of every route, in order: one DescribeListeners and one DescribeRules at most. */
export async function readAllActions(
  elb: ElasticLoadBalancingV2Client,
  refs: readonly RouteRef[],
): Promise<Action[][]> {
  const listenerArns = refs.filter((r) => r.kind === "listener").map((r) => r.arn);
  const ruleArns = refs.filter((r) => r.kind === "rule").map((r) => r.arn);
  const [listeners, rules] = await Promise.all([
    listenerArns.length
      ? elb.send(new DescribeListenersCommand({ ListenerArns: listenerArns })).then((out) => out.Listeners ?? [])
      : [],
    ruleArns.length ? elb.send(new DescribeRulesCommand({ RuleArns: ruleArns })).then((out) => out.Rules ?? []) : [],
  ]);
  return refs.map((ref) => {
    const actions =
      ref.kind === "listener"
        ? listeners.find((l) => l.ListenerArn === ref.arn)?.DefaultActions
        : rules.find((r) => r.RuleArn === ref.arn)?.Actions;
    if (!actions) throw new Error(`The ${describeRoute(ref)} was not found`);
    return actions;
  });
}

/** Target groups and weights of a forward action (a plain `TargetGroupArn` forward is weight 1). */
export function forwardTargets(action: Action): { arn: string; weight: number }[] {
  const tuples = action.ForwardConfig?.TargetGroups;
  if (tuples && tuples.length > 0)
    return tuples.filter((t) => t.TargetGroupArn).map((t) => ({ arn: t.TargetGroupArn!, weight: t.Weight ?? 1 }));
  return action.TargetGroupArn ? [{ arn: action.TargetGroupArn, weight: 1 }] : [];
}

/** Percent per slot from raw weights (0..999 each): exact when they already sum to 100. */
export function percentWeights(
  targetGroups: { arn: string; weight: number }[],
  config: Pick<EcsConfig, "targetGroups">,
): Weights {
  const total = targetGroups.reduce((sum, t) => sum + t.weight, 0);
  const raw = (slot: Slot) =>
    targetGroups.filter((t) => t.arn === config.targetGroups[slot]).reduce((sum, t) => sum + t.weight, 0);
  if (total === 0) return { blue: 0, green: 0 };
  const blue = Math.round((raw("blue") * 100) / total);
  const green = Math.round((raw("green") * 100) / total);
  return { blue, green };
}

export function routeState(ref: RouteRef, actions: Action[], config: Pick<EcsConfig, "targetGroups">): RouteState {
  const forwardIndex = actions.findIndex((a) => a.Type === "forward");
  if (forwardIndex < 0) {
    throw new Error(
      `The ${describeRoute(ref)} has no forward action (its actions are ${actions.map((a) => a.Type).join(", ") || "none"}); blue/green needs one that forwards to both target groups`,
    );
  }
  const forward = actions[forwardIndex]!;
  const targetGroups = forwardTargets(forward);
  const ours = new Set([config.targetGroups.blue, config.targetGroups.green]);
  const sticky = forward.ForwardConfig?.TargetGroupStickinessConfig;
  return {
    ref,
    actions,
    forwardIndex,
    targetGroups,
    weights: percentWeights(targetGroups, config),
    stickiness: {
      enabled: sticky?.Enabled === true,
      durationSeconds: sticky?.Enabled ? (sticky.DurationSeconds ?? null) : null,
    },
    foreign: targetGroups.filter((t) => !ours.has(t.arn)).map((t) => t.arn),
  };
}

export async function readRoute(
  elb: ElasticLoadBalancingV2Client,
  ref: RouteRef,
  config: Pick<EcsConfig, "targetGroups">,
): Promise<RouteState> {
  return routeState(ref, await readActions(elb, ref), config);
}

export async function readRoutes(
  elb: ElasticLoadBalancingV2Client,
  refs: readonly RouteRef[],
  config: Pick<EcsConfig, "targetGroups">,
): Promise<RouteState[]> {
  const actions = await readAllActions(elb, refs);
  return refs.map((ref, i) => routeState(ref, actions[i]!, config));
}

/**
 * The weights of several routes as one: theirs when they all agree; otherwise the share every route
 * gives each slot at least, which adds up to less than 100 and so never matches a step (a step is
 * reached only when every route holds its weights).
 */
export function combinedWeights(states: readonly Pick<RouteState, "weights">[]): Weights {
  const [first, ...rest] = states;
  if (!first) return { blue: 0, green: 0 };
  if (rest.every((s) => s.weights.blue === first.weights.blue && s.weights.green === first.weights.green))
    return first.weights;
  return {
    blue: Math.min(...states.map((s) => s.weights.blue)),
    green: Math.min(...states.map((s) => s.weights.green)),
  };
}

/**
 * Stickiness while traffic is split keeps a client (and its WebSocket reconnects) on one slot. At
 * 100/0 it is switched off: ALB honours a stickiness cookie over the weights, so with it on, clients
 * stuck to the slot that just went to 0% (a rollback) would keep reaching it for up to
 * stickinessSeconds, and get 503s once it is scaled down.
 */
export function wantedStickiness(
  weights: Weights,
  stickinessSeconds: number,
): { Enabled: boolean; DurationSeconds?: number } {
  return weights.blue > 0 && weights.green > 0
    ? { Enabled: true, DurationSeconds: stickinessSeconds }
    : { Enabled: false };
}

/** The forward action for these weights: both target groups, weighted, with stickiness. */
export function forwardAction(
  config: Pick<EcsConfig, "targetGroups" | "stickinessSeconds">,
  weights: Weights,
  order?: number,
): Action {
  return {
    Type: "forward",
    ...(order !== undefined ? { Order: order } : {}),
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: config.targetGroups.blue, Weight: weights.blue },
        { TargetGroupArn: config.targetGroups.green, Weight: weights.green },
      ],
      TargetGroupStickinessConfig: wantedStickiness(weights, config.stickinessSeconds),
    },
  };
}

/** A described action made fit to send back unchanged (ALB never returns an OIDC client secret). */
function resendable(action: Action): Action {
  if (action.Type === "authenticate-oidc" && action.AuthenticateOidcConfig) {
    const { ClientSecret: _secret, ...oidc } = action.AuthenticateOidcConfig;
    return { ...action, AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true } };
  }
  return action;
}

/** Whether the route already forwards exactly these weights with the wanted stickiness. */
export function routeMatches(
  state: RouteState,
  config: Pick<EcsConfig, "targetGroups" | "stickinessSeconds">,
  weights: Weights,
): boolean {
  if (state.foreign.length > 0) return false;
  const want = wantedStickiness(weights, config.stickinessSeconds);
  const weightOf = (arn: string) => state.targetGroups.find((t) => t.arn === arn)?.weight;
  const exact =
    weightOf(config.targetGroups.blue) === weights.blue && weightOf(config.targetGroups.green) === weights.green;
  const sticky = want.Enabled
    ? state.stickiness.enabled && state.stickiness.durationSeconds === want.DurationSeconds
    : !state.stickiness.enabled;
  return exact && sticky;
}

/** Writes the forward action (one ModifyListener or ModifyRule call), keeping the other actions. */
export async function writeForward(
  elb: ElasticLoadBalancingV2Client,
  state: RouteState,
  forward: Action,
): Promise<void> {
  const actions = state.actions.map((a, i) =>
    i === state.forwardIndex ? { ...forward, ...(a.Order !== undefined ? { Order: a.Order } : {}) } : resendable(a),
  );
  if (state.ref.kind === "listener")
    await elb.send(new ModifyListenerCommand({ ListenerArn: state.ref.arn, DefaultActions: actions }));
  else await elb.send(new ModifyRuleCommand({ RuleArn: state.ref.arn, Actions: actions }));
}

export const formatWeights = (w: Weights) => `blue ${w.blue}% / green ${w.green}%`;
