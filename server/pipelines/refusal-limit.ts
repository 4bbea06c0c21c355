/**
 * How many refused pipeline requests an address may have audited. Every refusal is an audit event
 * (auditors want to see who knocked), but anyone can send requests with no token or a made-up one,
 * and an unbounded stream of them would grow the audit chain without end. So an address gets
 * `limit` audited refusals in a sliding window; the next one is audited once as the start of a
 * throttle, and until the window has room again its requests are answered 429 with Retry-After and
 * write nothing. Counted in the database (the audit events themselves), so it holds across instances.
 */

export interface RefusalPolicy {
  /** Refusals audited per address within the window. */
  limit: number;
  windowSeconds: number;
}

export const REFUSAL_POLICY: RefusalPolicy = { limit: 30, windowSeconds: 60 };

export type RefusalVerdict =
  /** Audit the refusal and answer 401/403 as usual. */
  | { record: "refusal" }
  /** Audit that this address is now throttled, and answer 429. */
  | { record: "throttled"; retryAfterSeconds: number }
  /** Already throttled: answer 429 and write nothing. */
  | { record: "nothing"; retryAfterSeconds: number };

/**
 * `recorded`: this address's audited refusals and throttle starts within the window; `oldest`: when
 * the oldest of them was recorded (null when none).
 */
export function refusalVerdict(
  recorded: number,
  oldest: Date | null,
  now: Date,
  policy: RefusalPolicy = REFUSAL_POLICY,
): RefusalVerdict {
  if (recorded < policy.limit) return { record: "refusal" };
  const frees = (oldest ?? now).getTime() + policy.windowSeconds * 1000;
  const retryAfterSeconds = Math.max(1, Math.ceil((frees - now.getTime()) / 1000));
  return recorded === policy.limit
    ? { record: "throttled", retryAfterSeconds }
    : { record: "nothing", retryAfterSeconds };
}
