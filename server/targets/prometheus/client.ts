/**
 * Prometheus's HTTP API, the one call the gates need: an instant query (POST /api/v1/query). Failures
 * are errors whose message says what happened in Prometheus's own words where it gave some (a query
 * it refused: "1:27: parse error: unexpected …"), and never contain the bearer token.
 */
import type { VectorSample } from "./figures.ts";

export interface PrometheusEndpoint {
  url: string;
  bearerToken: string | null;
}

/** Why a query got no answer: Prometheus could not be reached, turned the token away, or refused or failed the query. */
export class PrometheusQueryError extends Error {
  constructor(
    message: string,
    readonly kind: "unreachable" | "unauthorized" | "refused",
  ) {
    super(message);
    this.name = "PrometheusQueryError";
  }
}

const QUERY_TIMEOUT_MS = 5000;

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

function unreachable(endpoint: PrometheusEndpoint, error: unknown): PrometheusQueryError {
  const e = error as Error & { cause?: NodeJS.ErrnoException };
  const why =
    e.name === "TimeoutError"
      ? `no answer within ${QUERY_TIMEOUT_MS / 1000} s`
      : (e.cause?.code ?? e.cause?.message ?? e.message);
  return new PrometheusQueryError(`could not reach Prometheus at ${endpoint.url}: ${why}`, "unreachable");
}

/** The instant vector `query` evaluates to at `time`. */
export async function instantQuery(endpoint: PrometheusEndpoint, query: string, time: Date): Promise<VectorSample[]> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${endpoint.url.replace(/\/+$/, "")}/api/v1/query`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        ...(endpoint.bearerToken ? { authorization: `Bearer ${endpoint.bearerToken}` } : {}),
      },
      body: new URLSearchParams({
        query,
        time: (time.getTime() / 1000).toFixed(3),
        timeout: `${QUERY_TIMEOUT_MS / 1000}s`,
      }),
      signal: AbortSignal.timeout(QUERY_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw unreachable(endpoint, error);
  }
  let answer: ApiAnswer | null = null;
  try {
    answer = JSON.parse(text) as ApiAnswer;
  } catch {
    answer = null;
  }
  if (answer?.status === "error")
    throw new PrometheusQueryError(
      `Prometheus refused ${query}: ${answer.error ?? "no reason given"}${answer.errorType ? ` (${answer.errorType})` : ""}`,
      "refused",
    );
  if (response.status === 401 || response.status === 403) {
    throw new PrometheusQueryError(
      `Prometheus at ${endpoint.url} answered HTTP ${response.status} ${response.statusText}: check the bearer token`,
      "unauthorized",
    );
  }
  if (!response.ok || answer?.status !== "success" || !answer.data) {
    throw new PrometheusQueryError(
      `Prometheus at ${endpoint.url} answered HTTP ${response.status} ${response.statusText}, not the Prometheus API: is the URL the server's own, e.g. http://prometheus:9090?`,
      "unreachable",
    );
  }
  if (answer.data.resultType !== "vector") {
    throw new PrometheusQueryError(
      `Prometheus answered ${query} with a ${answer.data.resultType ?? "result of no type"}, not an instant vector: the template must select series`,
      "refused",
    );
  }
  return (answer.data.result ?? [])
    .map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1] ?? Number.NaN) }))
    .filter((s) => Number.isFinite(s.value));
}
