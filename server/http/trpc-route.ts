/**
 * /api/trpc: the app router over HTTP, with the caller resolved by the dispatcher.
 *
 * The input is looked at before tRPC parses it: nesting past MAX_INPUT_DEPTH is refused (anything
 * that walks such a value after parsing, from the transformer to validation, can overflow the
 * stack), and so is a body over the size limit. The refusal is in tRPC's own error shape, one per
 * call of a batch, so every client reads it like any other 400.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import type { SessionUser } from "../auth/session.ts";
import type { Services } from "../services.ts";
import { appRouter } from "../trpc/root.ts";
import { MAX_INPUT_DEPTH, nestsDeeperThan } from "./json-depth.ts";
import { HttpError, readBody, sendJson } from "./request.ts";

const MAX_BODY_BYTES = 1024 * 1024;

/** tRPC's error envelope (superjson: `{ json: shape }`), for each call the request names. */
function sendTrpcError(
  res: ServerResponse,
  url: URL,
  status: number,
  code: string,
  jsonRpcCode: number,
  message: string,
  field: string | null,
): void {
  const paths = url.pathname.slice("/api/trpc/".length).split(",");
  const error = (path: string) => ({
    error: {
      json: {
        message,
        code: jsonRpcCode,
        data: { code, httpStatus: status, path, field, fieldErrors: field ? { [field]: message } : null },
      },
    },
  });
  sendJson(res, status, url.searchParams.get("batch") === "1" ? paths.map(error) : error(paths[0]!));
}

export async function handleTrpc(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  services: Services,
  meta: { ip: string; traceId: string; user: SessionUser | null },
): Promise<void> {
  let body: string | undefined;
  if (req.method === "POST") {
    try {
      body = (await readBody(req, MAX_BODY_BYTES)).toString("utf8");
    } catch (error) {
      if (error instanceof HttpError && error.status === 413)
        return sendTrpcError(
          res,
          url,
          413,
          "PAYLOAD_TOO_LARGE",
          -32600,
          `The request body is larger than ${MAX_BODY_BYTES} bytes`,
          "input",
        );
      throw error;
    }
  }
  for (const text of [url.searchParams.get("input"), body]) {
    if (text && nestsDeeperThan(text, MAX_INPUT_DEPTH))
      return sendTrpcError(
        res,
        url,
        400,
        "BAD_REQUEST",
        -32600,
        `The input must not be nested deeper than ${MAX_INPUT_DEPTH} levels`,
        "input",
      );
  }
  // tRPC takes a body that was already read from `req.body`.
  if (body !== undefined) Object.assign(req, { body });
  await nodeHTTPRequestHandler({
    req,
    res,
    router: appRouter,
    path: url.pathname.slice("/api/trpc/".length),
    maxBodySize: MAX_BODY_BYTES,
    createContext: () => ({ services, user: meta.user, ip: meta.ip, traceId: meta.traceId }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        services.log.error(
          { action: "trpc.error", metadata: { path, error: error.cause ?? error } },
          `Unexpected error in ${path ?? "tRPC"}`,
        );
      }
    },
  });
}

export const PROCEDURE_PATHS: ReadonlySet<string> = new Set(Object.keys(appRouter._def.procedures));
