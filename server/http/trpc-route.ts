/** /api/trpc: the app router over HTTP, with the caller resolved by the dispatcher. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import type { SessionUser } from "../auth/session.ts";
import type { Services } from "../services.ts";
import { appRouter } from "../trpc/root.ts";

export async function handleTrpc(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  services: Services,
  meta: { ip: string; traceId: string; user: SessionUser | null },
): Promise<void> {
  await nodeHTTPRequestHandler({
    req,
    res,
    router: appRouter,
    path: url.pathname.slice("/api/trpc/".length),
    maxBodySize: 1024 * 1024,
    createContext: () => ({ services, user: meta.user, ip: meta.ip, traceId: meta.traceId }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        services.log.error({ action: "trpc.error", metadata: { path, error: error.cause ?? error } }, `Unexpected error in ${path ?? "tRPC"}`);
      }
    },
  });
}

export const PROCEDURE_PATHS: ReadonlySet<string> = new Set(Object.keys(appRouter._def.procedures));
