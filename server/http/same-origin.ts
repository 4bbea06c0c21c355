/**
 * Is a request from the panel's own pages? Cookies go with every request a browser makes, whichever
 * site asked for it, so a request that acts on a session cookie must also show where it came from:
 * an `Origin` naming this panel, or, when the browser sends no Origin (same-origin GETs),
 * `Sec-Fetch-Site: same-origin`. A request with neither is refused: browsers send one of them, and
 * other clients can send an Origin.
 *
 * "This panel" is the host the request was sent to (its `Host` header), the configured public URL
 * (NEXTAUTH_URL), and, only when TRUST_PROXY is on, the host a proxy names in `X-Forwarded-Host`
 * (anyone can send that header to a panel that is not behind a proxy). Pure.
 */
import type { IncomingHttpHeaders } from "node:http";

export interface OriginPolicy {
  trustProxy: boolean;
  /** The origin of NEXTAUTH_URL, when configured. */
  publicOrigin: string | null;
}

export type OriginDecision = { ok: true } | { ok: false; reason: string };

function first(value: string | string[] | undefined): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return one?.split(",")[0]?.trim() || undefined;
}

export function checkSameOrigin(headers: IncomingHttpHeaders, policy: OriginPolicy): OriginDecision {
  const origin = first(headers.origin);
  if (origin === undefined) {
    if (first(headers["sec-fetch-site"]) === "same-origin") return { ok: true };
    return {
      ok: false,
      reason:
        "the request has no Origin header (nor Sec-Fetch-Site: same-origin), so it cannot be told apart from one sent by another site",
    };
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return { ok: false, reason: `the Origin header "${origin.slice(0, 100)}" is not an origin` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return { ok: false, reason: `the Origin header "${origin.slice(0, 100)}" is not an origin of this panel` };
  if (policy.publicOrigin !== null && url.origin === policy.publicOrigin) return { ok: true };
  const hosts = [first(headers.host), policy.trustProxy ? first(headers["x-forwarded-host"]) : undefined]
    .filter((h): h is string => h !== undefined)
    .map((h) => h.toLowerCase());
  if (hosts.includes(url.host)) return { ok: true };
  return { ok: false, reason: `the Origin ${url.origin} is another site` };
}
