/**
 * Where someone goes after signing in: a path on the panel's own origin. Decided after parsing the
 * value as a browser does (the WHATWG URL parser, which Node shares with browsers), never by
 * looking at its first characters: a browser reads `/\evil.example`, `/<tab>/evil.example` and
 * `/\/evil.example` as `//evil.example`, another host. Pure; the server and the sign-in page both
 * use it.
 */

/** A base that is never a real host: anything that resolves elsewhere is not a path of ours. */
const BASE = "http://panel.invalid";

/** `origin`: the panel's own origin, so that an absolute URL on it is accepted too. */
export function safeCallbackPath(value: string | null | undefined, origin: string = BASE): string {
  if (!value) return "/";
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return "/";
  }
  if (url.origin !== new URL(origin).origin) return "/";
  const path = `${url.pathname}${url.search}${url.hash}`;
  // `/.//evil.example` normalises to the path `//evil.example`, which would leave the origin again.
  return path.startsWith("//") ? "/" : path;
}
