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
  if (!canTransition(from, to))
    throw conflict(`A deployment that is ${from.replace(/_/g, " ")} cannot become ${to.replace(/_/g, " ")}`);
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

/** What decides which commands a deployment takes: its status, and whether traffic has moved yet. */
export interface CommandSubject {
  status: DeploymentStatus;
  stepIndex: number;
  stepReachedAt: Date | null;
  pausedFrom: DeploymentStatus | null;
}

/** Traffic has moved to the new release once a step was reached (or a deployment paused after that). */
export function hasMovedTraffic(d: CommandSubject): boolean {
  return (
    d.stepReachedAt !== null ||
    d.stepIndex > 0 ||
    (d.status === "paused" && !["preparing", "deploying_green", "smoke_testing"].includes(d.pausedFrom ?? ""))
  );
}

/** Why a command may not be given now, in words; null when it may. */
export function commandRefusal(command: Command, d: CommandSubject): string | null {
  const allowed = COMMANDS[command] as readonly DeploymentStatus[];
  if (!allowed.includes(d.status)) return `Cannot ${command} a deployment that is ${d.status.replace(/_/g, " ")}`;
  // Abort is for deployments that have not moved any traffic yet; after that, roll back.
  if (command === "abort" && hasMovedTraffic(d))
    return "Traffic has already moved to the new release; roll back instead of aborting";
  return null;
}

/** The commands a deployment takes now (the page shows these, whoever may give them). */
export function availableCommands(d: CommandSubject): Command[] {
  return (Object.keys(COMMANDS) as Command[]).filter((command) => commandRefusal(command, d) === null);
}
