/**
 * The Socket.io events the panel pushes about deployments and environments, typed once for the
 * server that emits them and the pages that listen (app/_lib/trpc.tsx's useRealtimeEvent). Payloads
 * are JSON: dates travel as ISO strings.
 */
import type { Explanation, GateName } from "../releases/judge/judge.ts";
import type { Slot } from "../targets/driver.ts";

export type Weights = Record<Slot, number>;

export interface SlotSecondPayload {
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** No release was on the slot: its requests measure nothing. */
  vacant?: boolean;
}

export interface GatePayload {
  gate: GateName;
  outcome: string;
  observed: number | null;
  threshold: number;
  detail: string;
  explanation: Explanation | null;
}

/** Event name → payload, for every event the deployment page and the overview receive. */
export interface ServerToClientEvents {
  /** One completed second (or CloudWatch period) of an environment, in room `env:<id>`. */
  metrics: {
    environmentId: string;
    at: string;
    seconds: number;
    slots: Record<Slot, SlotSecondPayload>;
    weights: Weights;
  };
  /** The reconciler set the weights (room `env:<id>`), before any second has measured them. */
  weights: { environmentId: string; weights: Weights };
  /** Something about the deployment changed: refetch it (rooms `deployment:<id>` and `overview`). */
  "deployment:changed": { deploymentId: string; environmentId?: string };
  /** What the reconciler is doing now, in words. */
  "deployment:detail": { deploymentId: string; detail: string };
  /** The current step's gate verdicts, as evaluated in the last pass. */
  "deployment:gates": { deploymentId: string; stepIndex: number; gates: GatePayload[] };
}

export type ServerEventName = keyof ServerToClientEvents;
