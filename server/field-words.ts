/**
 * An input field's path in words, for messages people read ("durationMinutes" → "duration in
 * minutes", "policy.gates.minRequests" → "minimum requests (policy, gates)"). The machine path itself
 * travels beside the message (`DomainError.field`, tRPC's `data.field` and `data.fieldErrors`, the
 * pipeline API's `field`), so the words are free to read well.
 */

/** Names whose plain camelCase split reads badly. */
const OVERRIDES: Record<string, string> = {
  config: "configuration",
  externalId: "external ID",
  maxPercent: "maximum percent",
  rrule: "recurrence rule",
  timezone: "time zone",
};

/** Words written differently wherever they appear: acronyms in capitals, abbreviations in full. */
const WORDS: Record<string, string> = {
  arn: "ARN",
  arns: "ARNs",
  aws: "AWS",
  ecs: "ECS",
  id: "ID",
  ip: "IP",
  max: "maximum",
  min: "minimum",
  sha: "SHA",
  url: "URL",
  urls: "URLs",
};

/** A unit at the end of a name reads "in <unit>": "durationMinutes" → "duration in minutes". */
const UNITS: Record<string, string> = {
  days: "days",
  minutes: "minutes",
  ms: "ms",
  percent: "percent",
  pp: "percentage points",
  seconds: "seconds",
};

/** "listenerArns[1].value" and "listenerArns.1.value" alike → ["listenerArns", 1, "value"]. */
function segmentsOf(path: string | readonly PropertyKey[]): (string | number)[] {
  const raw = typeof path === "string" ? path.split(/\.|\[(\d+)\]/) : path;
  return raw
    .filter((p): p is string | number | symbol => p !== undefined && p !== "")
    .map((p) => (typeof p === "number" || (typeof p === "string" && /^\d+$/.test(p)) ? Number(p) : String(p)));
}

/** One name in words: "environmentId" → "environment", "roleArn" → "role ARN", "ChangeRequest" → "change request". */
function nameWords(name: string): string {
  if (OVERRIDES[name]) return OVERRIDES[name];
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  // "releaseId" names a release; "id" alone stays itself.
  if (words.length > 1 && words.at(-1) === "id") words.pop();
  const unit = words.length > 1 ? UNITS[words.at(-1)!] : undefined;
  if (unit) words.splice(-1, 1, ...(words.at(-2) === "in" ? [] : ["in"]), unit);
  return words.map((w) => WORDS[w] ?? w).join(" ");
}

/**
 * The field a path names, in words, lower-case as in the middle of a sentence: the innermost name,
 * then where it sits in parentheses (its parents, outermost first; list positions as "item N",
 * counted from 1). An empty path is the whole input.
 */
export function fieldWords(path: string | readonly PropertyKey[]): string {
  const segments = segmentsOf(path);
  const last = segments.findLastIndex((s) => typeof s === "string");
  if (last === -1) {
    const items = segments.map((s) => `item ${Number(s) + 1}`);
    return items.length ? items.join(", ") : "input";
  }
  const context = segments
    .filter((_, i) => i !== last)
    .map((s) => (typeof s === "number" ? `item ${s + 1}` : nameWords(s)));
  const main = nameWords(segments[last] as string);
  return context.length ? `${main} (${context.join(", ")})` : main;
}

/** The field in words at the start of a message: "Duration in minutes". */
export function fieldLabel(path: string | readonly PropertyKey[]): string {
  const words = fieldWords(path);
  return words.charAt(0).toUpperCase() + words.slice(1);
}
