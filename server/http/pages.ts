/**
 * Everything that is not an API route goes to Next.js, which renders pages only. Pages need a
 * signed-in user (except the sign-in page and static assets); the user is handed to Next.js in a
 * header the server controls, and the per-request CSP nonce in the request's CSP header.
 */
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { safeCallbackPath } from "../auth/callback-url.ts";
import { encodeSessionHeader, SESSION_HEADER } from "../auth/session-header.ts";
import type { SessionUser } from "../auth/session.ts";

export type NextRequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function publicFiles(rootDir: string): Set<string> {
  const dir = path.join(rootDir, "public");
  if (!fs.existsSync(dir)) return new Set();
  return new Set(
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => `/${path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/")}`),
  );
}

export function isPublicPath(pathname: string, files: ReadonlySet<string>): boolean {
  return pathname === "/signin" || pathname.startsWith("/_next/") || pathname === "/favicon.ico" || files.has(pathname);
}

export async function handlePage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: { next: NextRequestHandler; user: SessionUser | null; csp: string; publicFiles: ReadonlySet<string> },
): Promise<void> {
  const { user } = options;
  if (!user && !isPublicPath(url.pathname, options.publicFiles)) {
    const callbackUrl = url.pathname === "/" ? "" : `?callbackUrl=${encodeURIComponent(url.pathname + url.search)}`;
    res.writeHead(302, { Location: `/signin${callbackUrl}`, "Cache-Control": "no-store" });
    res.end();
    return;
  }
  if (user && url.pathname === "/signin") {
    res.writeHead(302, {
      Location: safeCallbackPath(url.searchParams.get("callbackUrl")),
      "Cache-Control": "no-store",
    });
    res.end();
    return;
  }
  delete req.headers[SESSION_HEADER];
  if (user) req.headers[SESSION_HEADER] = encodeSessionHeader(user);
  req.headers["content-security-policy"] = options.csp;
  await options.next(req, res);
}
