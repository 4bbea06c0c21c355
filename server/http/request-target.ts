/**
 * The request target (the path and query of the request line) as the panel accepts it. Node's parser
 * lets through targets that `new URL()` or `decodeURIComponent` reject, and a target such as `//host`
 * that a browser would read as another origin; each is answered 400 before any route sees it.
 */

/** The panel's base for parsing paths: never a real host, so nothing resolves against the outside. */
const BASE = "http://panel.invalid";

export type RequestTarget = { ok: true; url: URL } | { ok: false; reason: string };

/** Percent-decodes, or null where the escapes are not valid UTF-8 (`%E0%A4%A`). */
export function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

export function parseRequestTarget(raw: string | undefined): RequestTarget {
  if (!raw) return { ok: false, reason: "the request has no target" };
  // Origin form only (RFC 9112 §3.2.1): a proxy's absolute form and OPTIONS * are not for the panel.
  if (!raw.startsWith("/")) return { ok: false, reason: "the request target must be a path starting with /" };
  // "//host/…" is a path to Node but another origin to a browser following a redirect to it.
  if (raw.startsWith("//") || raw.startsWith("/\\"))
    return { ok: false, reason: "the request target must not start with // or /\\" };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u001f\u007f\\]/.test(raw.split("?")[0]!))
    return { ok: false, reason: "the request path contains a control character or a backslash" };
  let url: URL;
  try {
    url = new URL(`${BASE}${raw}`);
  } catch {
    return { ok: false, reason: "the request target is not a valid path" };
  }
  if (url.origin !== BASE) return { ok: false, reason: "the request target is not a valid path" };
  if (safeDecode(url.pathname) === null)
    return { ok: false, reason: "the request path has a malformed percent-encoding" };
  return { ok: true, url };
}
