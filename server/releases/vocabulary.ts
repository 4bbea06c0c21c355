/**
 * The engine's words, as zod enums shared with the pages: the kinds of timeline event a deployment
 * can have, and the reasons a deployment is rolled back. A page never has to guess a string, and a
 * new kind is a change here that the type checker carries everywhere.
 */
import { z } from "zod";
import { gateName } from "./judge/judge.ts";

export const TIMELINE_KINDS = [
  // Commands (commands.ts) and the start of a deployment.
  "created",
  "command_pause",
  "command_resume",
  "command_promote",
  "command_rollback",
  "command_abort",
  // The planner (plan.ts).
  "phase",
  "step",
  "step_passed",
  "gate_failed",
  "gate_measurement_failed",
  "gate_measurement_recovered",
  "smoke_passed",
  "smoke_failed",
  "failed",
  "traffic_restored",
  "rolled_back",
  "aborted",
  "succeeded",
  // The reconciler's other effects.
  "hook_attempt",
  "hook",
  "scaled_down",
  "paused_on_errors",
] as const;
export const timelineKind = z.enum(TIMELINE_KINDS);
export type TimelineKind = z.infer<typeof timelineKind>;

/** Why a deployment was rolled back: a gate's verdict, failed smoke tests at 100 %, or a person. */
export const rollbackReason = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("gate"),
    gate: gateName,
    observed: z.number().nullable(),
    threshold: z.number(),
    stepIndex: z.number().int(),
    weight: z.number().int(),
    /** The verdict's sentence. */
    detail: z.string(),
    explanation: z.unknown().optional(),
  }),
  z.object({ kind: z.literal("smoke"), checks: z.array(z.string()) }),
  z.object({ kind: z.literal("manual"), by: z.string().nullable(), reason: z.string().nullable() }),
]);
export type RollbackReason = z.infer<typeof rollbackReason>;
