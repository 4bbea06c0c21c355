/**
 * The request (or job) being served: its trace id and, once known, the signed-in user. Carried
 * through async calls so log lines and audit events of one request share one trace id.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

export interface TraceContext {
  traceId: string;
  userId?: string;
}

const storage = new AsyncLocalStorage<TraceContext>();

export function runWithTrace<T>(context: TraceContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

export function newTraceId(): string {
  return randomBytes(16).toString("hex");
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const REQUEST_ID = /^[\w.:-]{8,128}$/;

/** W3C `traceparent` first, then `x-request-id`, else a new id. Malformed values are ignored. */
export function traceIdFromHeaders(headers: Record<string, string | string[] | undefined>): string {
  const traceparent = first(headers["traceparent"]);
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (match && !/^0+$/.test(match[1]!)) return match[1]!;
  const requestId = first(headers["x-request-id"]);
  if (requestId && REQUEST_ID.test(requestId.trim())) return requestId.trim();
  return newTraceId();
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
