/**
 * How the CLI prints what the panel says about a deployment. Gate results and rollback reasons are
 * printed field by field, whatever fields they carry: the engine explains its verdicts in more
 * detail over time, and a CI log should show all of it.
 */
import type { z } from "zod";
import type { deploymentBody } from "../server/pipelines/api.ts";

export type DeploymentAnswer = z.infer<typeof deploymentBody>;

const LABELS: Record<string, string> = { kind: "reason", weight: "traffic %" };

function scalar(value: unknown): string {
  // Five significant digits: 22.222 % and a p-value of 0.00041 both stay readable.
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(5)));
  return String(value);
}

/** Every field of a JSON object as indented "name: value" lines; nested objects and lists indented under their name. */
export function describeFields(value: unknown, indent = "  ", skip: readonly string[] = []): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== "object") return [`${indent}${scalar(value)}`];
  const lines: string[] = [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i + 1), v] as const) : Object.entries(value);
  for (const [key, child] of entries) {
    if (skip.includes(key) || child === null || child === undefined) continue;
    const label = LABELS[key] ?? key;
    if (typeof child !== "object") lines.push(`${indent}${label}: ${scalar(child)}`);
    else if (Array.isArray(child) && child.every((c) => typeof c !== "object" || c === null))
      lines.push(`${indent}${label}: ${child.map(scalar).join(", ")}`);
    else lines.push(`${indent}${label}:`, ...describeFields(child, `${indent}  `));
  }
  return lines;
}

/** Why the deployment did not go live: the reason, the gates that failed and the smoke checks that failed. */
export function describeFailure(d: DeploymentAnswer): string[] {
  const lines: string[] = [];
  if (d.rollbackReason) lines.push("Why:", ...describeFields(d.rollbackReason));
  if (d.failureReason) lines.push(`Failure: ${d.failureReason}`);
  const failedGates = d.gates.filter((g) => g.outcome === "fail");
  for (const gate of failedGates)
    lines.push(`Failed gate ${gate.gate} at ${gate.weight}% traffic:`, ...describeFields(gate, "  ", ["gate"]));
  for (const smoke of d.smokeFailures)
    lines.push(
      `Failed smoke check "${smoke.name}" (${smoke.round.replace(/_/g, " ")}):`,
      ...describeFields(smoke, "  ", ["name", "round"]),
    );
  return lines;
}

export function describeDeployment(d: DeploymentAnswer): string[] {
  const step = d.steps.length
    ? `, step ${Math.min(d.stepIndex + 1, d.steps.length)} of ${d.steps.length} (${d.steps.join(" → ")}%)`
    : "";
  return [
    `Deployment ${d.id}: ${d.service} ${d.version} → ${d.environment}`,
    `  status: ${d.status.replace(/_/g, " ")}${d.verdict === "in_progress" ? step : ""}${d.statusDetail ? ` — ${d.statusDetail}` : ""}`,
    `  verdict: ${d.verdict.replace(/_/g, " ")}`,
    `  started: ${d.startedAt}${d.finishedAt ? `, finished: ${d.finishedAt}` : ""}`,
    `  ${d.url}`,
  ];
}
