/**
 * The deployment state machine: every status, and the statuses it may move to. The reconciler and
 * every command go through `assertTransition`; nothing else changes a deployment's status.
 *
 *   preparing → deploying_green → smoke_testing → shifting (step i: set weights, bake, gates) …
 *   … → smoke_testing (again at 100%) → validating → succeeded
 *   any active phase → paused (and back), → rolling_back → rolled_back | failed | aborted
 */
import { conflict } from "../errors.ts";

export const DEPLOYMENT_STATUSES = [
  "preparing",
  "deploying_green",
  "smoke_testing",
  "shifting",
  "validating",
  "succeeded",
  "paused",
  "rolling_back",
  "rolled_back",
  "aborted",
  "failed",
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

const ROLLBACK = ["rolling_back"] as const;
const PROGRESSING = ["preparing", "deploying_green", "smoke_testing", "shifting", "validating"] as const;

export const TRANSITIONS: Record<DeploymentStatus, readonly DeploymentStatus[]> = {
  preparing: ["deploying_green", "paused", ...ROLLBACK],
  deploying_green: ["smoke_testing", "paused", ...ROLLBACK],
  // From smoke tests before traffic to the first step; from smoke tests at 100% to validation.
  smoke_testing: ["shifting", "validating", "paused", ...ROLLBACK],
  // shifting → shifting is the move to the next step.
  shifting: ["shifting", "smoke_testing", "paused", ...ROLLBACK],
  validating: ["succeeded", "paused", ...ROLLBACK],
  paused: [...PROGRESSING, ...ROLLBACK],
  rolling_back: ["rolled_back", "failed", "aborted"],
  succeeded: [],
  rolled_back: [],
  aborted: [],
  failed: [],
};

export const TERMINAL: readonly DeploymentStatus[] = ["succeeded", "rolled_back", "aborted", "failed"];
export const ACTIVE: readonly DeploymentStatus[] = DEPLOYMENT_STATUSES.filter((s) => !TERMINAL.includes(s));
/** Phases that move the release forward (and may be paused). */
export const PROGRESSING_STATUSES: readonly DeploymentStatus[] = PROGRESSING;

export function isTerminal(status: DeploymentStatus): boolean {
  return TERMINAL.includes(status);
}

export function canTransition(from: DeploymentStatus, to: DeploymentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: DeploymentStatus, to: DeploymentStatus): void {
  if (!canTransition(from, to)) throw conflict(`A deployment that is ${from.replace(/_/g, " ")} cannot become ${to.replace(/_/g, " ")}`);
}

/** Commands people give, and the statuses each may be given in. */
export const COMMANDS = {
  pause: PROGRESSING,
  resume: ["paused"],
  promote: ["shifting", "validating"],
  rollback: [...PROGRESSING, "paused"],
  // Abort is for deployments that have not moved any traffic yet; after that, roll back.
  abort: ["preparing", "deploying_green", "smoke_testing", "paused"],
} as const satisfies Record<string, readonly DeploymentStatus[]>;
export type Command = keyof typeof COMMANDS;
