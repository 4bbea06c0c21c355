/**
 * Errors the domain raises on purpose. The HTTP and tRPC layers turn them into 4xx answers whose
 * message names the field in words or the conflict, with the field's machine name beside it (502
 * when a service the panel depends on failed); anything else is a 500 and a bug.
 */
/**
 * "unauthenticated": the caller could not be identified (a missing, unknown, expired or revoked API token).
 * "upstream": a service the panel depends on (AWS) failed or could not be reached.
 * "rate_limited": the caller's address sent more than its share; `retryAfterSeconds` says when to try again.
 */
export type DomainErrorKind =
  "invalid" | "not_found" | "conflict" | "forbidden" | "precondition" | "unauthenticated" | "upstream" | "rate_limited";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** The input field the problem is about, when there is one. */
    readonly field?: string,
    /** For "rate_limited": how long the caller should wait (HTTP Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/**
 * Each message is a sentence for people that names the field in words ("The release belongs to
 * another service than Payments"); the machine name of the field travels separately in `field`.
 */
export const invalid = (field: string, message: string) => new DomainError("invalid", message, field);
export const notFound = (what: string) => new DomainError("not_found", `${what} was not found`);
export const conflict = (message: string, field?: string) => new DomainError("conflict", message, field);
export const forbidden = (message: string) => new DomainError("forbidden", message);
export const preconditionFailed = (message: string, field?: string) => new DomainError("precondition", message, field);
export const unauthenticated = (message: string) => new DomainError("unauthenticated", message);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new DomainError("rate_limited", message, undefined, retryAfterSeconds);

export const HTTP_STATUS: Record<DomainErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  unauthenticated: 401,
  upstream: 502,
  rate_limited: 429,
};
