/**
 * The deployment page's words for the engine's identifiers: gate names (current and those recorded
 * before the judge) and slots named by their role in the deployment, with their colour.
 */
export const GATE_LABELS: Record<string, string> = {
  target_signals: "Target's own report",
  metrics_source: "Metrics source answers",
  min_requests: "Requests served",
  error_rate: "Error rate against live",
  error_rate_ceiling: "Error-rate ceiling",
  latency: "Latency against live",
  latency_p95_ceiling: "p95 ceiling",
  // Gate results recorded before the judge.
  error_rate_absolute: "Error rate",
  error_rate_vs_live: "Error rate above live",
  latency_p95: "p95 latency",
};

export const GATE_UNITS: Record<string, string> = {
  error_rate: " %",
  error_rate_ceiling: " %",
  latency: " ms",
  latency_p95_ceiling: " ms",
  min_requests: "",
  error_rate_absolute: " %",
  error_rate_vs_live: " pp",
  latency_p95: " ms",
};

export function gateLabel(gate: string): string {
  return GATE_LABELS[gate] ?? gate.replace(/_/g, " ");
}

const GATE_ID = new RegExp(`\\b(${Object.keys(GATE_LABELS).join("|")})\\b`, "g");

/** A timeline message with any gate id in it ("error_rate_absolute failed") in words ("“Error rate” failed"). */
export function inWords(message: string): string {
  return message.replace(GATE_ID, (id) => `“${gateLabel(id)}”`);
}

export type SlotColour = "blue" | "green";

/** "new release (blue)", "live (green)". */
export function slotRole(slot: SlotColour, d: { targetSlot: SlotColour; fromSlot: SlotColour }): string {
  return slot === d.targetSlot ? `new release (${slot})` : `live (${slot})`;
}
