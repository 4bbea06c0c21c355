/**
 * /api/auth/*: next-auth, driven from the custom server. Password sign-ins are throttled here, before
 * next-auth sees them: each attempt is reserved first (server/auth/throttle.ts), and past the limit for
 * the account from this address, or for the address, the answer is HTTP 429 with Retry-After.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseCookies } from "cookie";
import NextAuth from "next-auth/next";
import { recordAudit } from "../audit/record.ts";
import { buildAuthOptions } from "../auth/options.ts";
import {
  normaliseIdentifier,
  releaseSignInAttempt,
  reserveSignInAttempt,
  type SignInAttempt,
} from "../auth/throttle.ts";
import type { Services } from "../services.ts";
import { readFormOrJson, sendJson } from "./request.ts";

export async function handleAuthRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  services: Services,
  meta: { ip: string; traceId: string },
): Promise<void> {
  const segments = url.pathname.slice("/api/auth/".length).split("/").filter(Boolean).map(decodeURIComponent);
  const body = req.method === "POST" ? await readFormOrJson(req) : undefined;

  let attempt: SignInAttempt | undefined;
  if (req.method === "POST" && segments[0] === "callback" && segments[1] === "credentials") {
    const identifier = normaliseIdentifier(body?.email ?? "");
    const decision = await reserveSignInAttempt(
      services.prisma,
      { identifier, ip: meta.ip },
      services.config.auth.signInThrottle,
    );
    if (decision.allowed) attempt = decision.attempt;
    else {
      await services.prisma.$transaction((tx) =>
        recordAudit(
          tx,
          { userId: null, email: identifier || null, roles: [], ip: meta.ip, traceId: meta.traceId },
          {
            action: "auth.signin_throttled",
            entityType: "User",
            after: { email: identifier, by: decision.reason, retryAfterSeconds: decision.retryAfterSeconds },
          },
        ),
      );
      services.events.emit("role:admin", "security:throttled", {
        at: new Date().toISOString(),
        email: identifier,
        ip: meta.ip,
      });
      const message = `Too many failed sign-ins for this ${decision.reason === "account" ? "account from your address" : "address"}. Try again in ${decision.retryAfterSeconds} seconds.`;
      sendJson(
        res,
        429,
        {
          error: "TooManyAttempts",
          message,
          retryAfterSeconds: decision.retryAfterSeconds,
          url: `${services.auth.publicUrl}/signin?error=TooManyAttempts`,
        },
        { "Retry-After": String(decision.retryAfterSeconds) },
      );
      return;
    }
  }

  const { nextauth: _ignored, ...query } = Object.fromEntries(url.searchParams);
  const facadeReq = {
    method: req.method,
    headers: req.headers,
    cookies: parseCookies(req.headers.cookie ?? ""),
    body,
    query: { ...query, nextauth: segments },
  };
  const facadeRes = Object.assign(res, {
    status(code: number) {
      res.statusCode = code;
      return facadeRes;
    },
    json(payload: unknown) {
      if (!res.getHeader("Content-Type")) res.setHeader("Content-Type", "application/json; charset=utf-8");
      res.end(JSON.stringify(payload));
    },
    send(payload: unknown) {
      if (typeof payload === "string") res.end(payload);
      else facadeRes.json(payload);
    },
  });
  try {
    await NextAuth(facadeReq as never, facadeRes as never, buildAuthOptions(services, { ...meta, attempt }));
  } finally {
    // next-auth refused the request before comparing the password (a missing CSRF token, say).
    if (attempt) await releaseSignInAttempt(services.prisma, attempt);
  }
}
