/**
 * Application Auto Scaling around the panel's own scaling of the two services. When it manages a
 * slot's service (a scalable target on `ecs:service:DesiredCount`):
 *
 * - scaling the new slot up copies the live slot's MinCapacity and MaxCapacity to it first, so it
 *   carries the live slot's load within the same bounds once traffic moves (this is also what
 *   restores a slot's minimum when it is about to become live again);
 * - scaling a slot to 0 first sets its MinCapacity to 0: a minimum above 0 would make Application
 *   Auto Scaling start the tasks the panel just stopped. MaxCapacity is kept.
 *
 * RegisterScalableTarget on an existing scalable target updates it (idempotent), and nothing is
 * written when the bounds already hold.
 */
import {
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
  type ApplicationAutoScalingClient,
  type ScalableTarget,
} from "@aws-sdk/client-application-auto-scaling";
import { SLOTS, type Slot } from "../driver.ts";
import { scalableResourceId, type EcsConfig } from "./config.ts";

export type Capacity = { min: number; max: number };

const DIMENSION = "ecs:service:DesiredCount";

/** Each slot's scalable target, if Application Auto Scaling manages its service (one call). */
export async function scalableTargets(
  autoscaling: ApplicationAutoScalingClient,
  config: Pick<EcsConfig, "clusterName" | "services">,
): Promise<Record<Slot, ScalableTarget | undefined>> {
  const ids = SLOTS.map((slot) => scalableResourceId(config, config.services[slot]));
  const out = await autoscaling.send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs", ScalableDimension: DIMENSION, ResourceIds: ids }),
  );
  const found = (id: string) => out.ScalableTargets?.find((t) => t.ResourceId === id);
  return { blue: found(ids[0]!), green: found(ids[1]!) };
}

/** The bounds to give the slot being scaled up: the live slot's, unless it already has them (or the live slot has none). */
export function capacityToCopy(live: ScalableTarget | undefined, target: ScalableTarget | undefined): Capacity | null {
  if (!live || live.MinCapacity === undefined || live.MaxCapacity === undefined) return null;
  if (target && target.MinCapacity === live.MinCapacity && target.MaxCapacity === live.MaxCapacity) return null;
  return { min: live.MinCapacity, max: live.MaxCapacity };
}

/** The bounds to give a slot before it is scaled to 0: its minimum at 0, unless it is already (or unmanaged). */
export function capacityBeforeScaleToZero(target: ScalableTarget | undefined): Capacity | null {
  if (!target || (target.MinCapacity ?? 0) === 0) return null;
  return { min: 0, max: target.MaxCapacity ?? 0 };
}

export async function registerCapacity(
  autoscaling: ApplicationAutoScalingClient,
  config: Pick<EcsConfig, "clusterName" | "services">,
  slot: Slot,
  capacity: Capacity,
): Promise<void> {
  await autoscaling.send(
    new RegisterScalableTargetCommand({
      ServiceNamespace: "ecs",
      ScalableDimension: DIMENSION,
      ResourceId: scalableResourceId(config, config.services[slot]),
      MinCapacity: capacity.min,
      MaxCapacity: capacity.max,
    }),
  );
}
