/**
 * Errors the domain raises on purpose. The HTTP and tRPC layers turn them into 4xx answers whose
 * message names the field or the conflict (502 when a service the panel depends on failed); anything
 * else is a 500 and a bug.
 */
/**
 * "unauthenticated": the caller could not be identified (a missing, unknown, expired or revoked API token).
 * "upstream": a service the panel depends on (AWS) failed or could not be reached.
 */
export type DomainErrorKind =
  "invalid" | "not_found" | "conflict" | "forbidden" | "precondition" | "unauthenticated" | "upstream";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** The input field the problem is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const invalid = (field: string, message: string) => new DomainError("invalid", `${field}: ${message}`, field);
export const notFound = (what: string) => new DomainError("not_found", `${what} was not found`);
/** "email: a user with e-mail … already exists" names the field `email`. */
export const conflict = (message: string) => new DomainError("conflict", message, /^([\w.]+):/.exec(message)?.[1]);
export const forbidden = (message: string) => new DomainError("forbidden", message);
export const preconditionFailed = (message: string) => new DomainError("precondition", message);
export const unauthenticated = (message: string) => new DomainError("unauthenticated", message);

export const HTTP_STATUS: Record<DomainErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  unauthenticated: 401,
  upstream: 502,
};
