/**
 * What a panel makes of its data plane after a call to it failed. Each call gives up after 2 s, and on
 * a saturated machine a healthy data plane (or a panel starved of a CPU) misses that several times in
 * a row; replacing it restarts every environment's proxy, generator and figures at once, so a data
 * plane that still runs is only replaced once it has answered nothing for `limitMs`.
 */
export type DataPlaneLiveness =
  /** It answered its identity check: the call failed, the process is fine. */
  | "answering"
  /** It runs but did not answer, for less than the limit so far: left to catch up. */
  | "catching_up"
  /** It runs but has answered nothing for the limit or longer: stopped and started again. */
  | "stalled"
  /** Its process is gone (or the pid now belongs to another process): started again. */
  | "gone";

export interface LivenessInput {
  /** Alive and, where /proc tells, started with its token. */
  running: boolean;
  /** It answered the identity check just made. */
  answered: boolean;
  /** Since it last answered anything (a call, the per-second read, an identity check), ms. */
  silentMs: number;
  limitMs: number;
}

export function dataPlaneLiveness({ running, answered, silentMs, limitMs }: LivenessInput): DataPlaneLiveness {
  if (!running) return "gone";
  if (answered) return "answering";
  return silentMs < limitMs ? "catching_up" : "stalled";
}
