/**
 * The seam between the release engine and real infrastructure. Every method is idempotent: the
 * reconciler may call any of them again after a crash, and calling twice has the effect of once.
 * Drivers report what is, never what they assume (observe reads the world every time).
 */
export type Slot = "blue" | "green";
export const SLOTS: readonly Slot[] = ["blue", "green"];
export const otherSlot = (slot: Slot): Slot => (slot === "blue" ? "green" : "blue");

export type Weights = Record<Slot, number>;

export interface EnvironmentRef {
  id: string;
  serviceSlug: string;
  name: string;
  target: "local" | "ecs";
  targetConfig: unknown;
}

export interface ReleaseRef {
  id: string;
  version: string;
  artifact: string;
  settings: Record<string, unknown>;
}

export interface SlotState {
  slot: Slot;
  /** The release running in the slot, or null when nothing is deployed there. */
  releaseId: string | null;
  desired: number;
  running: number;
  healthy: number;
  pending: number;
  /** `steady` when running equals desired and every instance is healthy. */
  rollout: "steady" | "in_progress" | "failed" | "stopped";
  /** Why the slot is not steady, in the target's own words. */
  detail: string | null;
}

export interface Observed {
  slots: Record<Slot, SlotState>;
  /** Percent of traffic per slot, as the target routes it now. */
  weights: Weights;
}

export interface SlotMetrics {
  requests: number;
  errors: number;
  /** errors / requests, 0..1; null without requests. */
  errorRate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface WindowMetrics {
  from: Date;
  to: Date;
  slots: Record<Slot, SlotMetrics>;
  /** False when the target's metrics for the window are not all in yet (CloudWatch lags). */
  complete: boolean;
}

export interface TargetDriver {
  readonly kind: "local" | "ecs";
  observe(env: EnvironmentRef): Promise<Observed>;
  /** Makes `slot` run `release` (with the live slot's capacity); returns once the change is requested. */
  ensureRelease(env: EnvironmentRef, slot: Slot, release: ReleaseRef): Promise<void>;
  setWeights(env: EnvironmentRef, weights: Weights): Promise<void>;
  scale(env: EnvironmentRef, slot: Slot, count: number): Promise<void>;
  metrics(env: EnvironmentRef, window: { from: Date; to: Date }): Promise<WindowMetrics>;
  /** Where smoke tests reach one slot directly, bypassing the weighted route. */
  slotUrl(env: EnvironmentRef, slot: Slot): Promise<string>;
}

export const emptySlotMetrics = (): SlotMetrics => ({ requests: 0, errors: 0, errorRate: null, p50: null, p95: null, p99: null });
