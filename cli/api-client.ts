/**
 * The pipeline API over HTTP, as the CLI uses it: GREENLIGHT_URL and GREENLIGHT_TOKEN, JSON in and
 * out, and an ApiError carrying the status and the message the panel gave.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** The panel could not be reached (or answered 5xx): worth retrying while waiting. */
export class UnreachableError extends Error {}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export function createApiClient(baseUrl: string, token: string): ApiClient {
  const base = baseUrl.replace(/\/+$/, "");
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new UnreachableError(
        `cannot reach ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
      );
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: reported below with the status */
    }
    if (response.status >= 500)
      throw new UnreachableError(
        `${base} answered ${response.status}${(parsed as { error?: string } | null)?.error ? `: ${(parsed as { error: string }).error}` : ""}`,
      );
    if (!response.ok) {
      const problem = parsed as { error?: string; field?: string | null } | null;
      throw new ApiError(response.status, problem?.error ?? `HTTP ${response.status}`, problem?.field ?? null);
    }
    return parsed as T;
  }
  return { get: (path) => request("GET", path), post: (path, body) => request("POST", path, body) };
}

export const segment = (value: string) => encodeURIComponent(value);
