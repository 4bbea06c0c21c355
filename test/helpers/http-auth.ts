/** Signing in to a panel over HTTP as a browser does (no test-runner imports: benchmarks use it too). */

/** next-auth's credentials flow as a browser runs it; the session cookie, or null when refused. */
export async function signInOverHttp(
  baseUrl: string,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<string | null> {
  const response = await postCredentials(baseUrl, email, password, headers);
  const session = response.headers.getSetCookie().find((c) => c.startsWith("next-auth.session-token="));
  return session ? session.split(";")[0]! : null;
}

export async function postCredentials(
  baseUrl: string,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const csrf = await fetch(`${baseUrl}/api/auth/csrf`, { headers });
  const csrfCookie = csrf.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  return fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: csrfCookie, ...headers },
    body: new URLSearchParams({ email, password, csrfToken, json: "true" }),
  });
}

/**
 * The Origin a browser sends from the panel's own pages. The panel acts on a session cookie only
 * for requests that show they come from its pages (tRPC mutations, Socket.io), as browsers do.
 */
export function sameOrigin(baseUrl: string): { Origin: string } {
  return { Origin: new URL(baseUrl).origin };
}

/** Signs out as the browser does (next-auth's CSRF token, then POST /api/auth/signout); the response. */
export async function signOutOverHttp(baseUrl: string, cookie: string): Promise<Response> {
  const csrf = await fetch(`${baseUrl}/api/auth/csrf`, { headers: { Cookie: cookie } });
  const cookies = [cookie, ...csrf.headers.getSetCookie().map((c) => c.split(";")[0])].join("; ");
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  return fetch(`${baseUrl}/api/auth/signout`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies },
    body: new URLSearchParams({ csrfToken, json: "true" }),
  });
}
