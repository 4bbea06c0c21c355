/**
 * POST /api/v1/releases/:id/evidence — CI posts checklist evidence with a per-service token:
 *   curl -X POST -H "Authorization: Bearer glt_…" -H "Content-Type: application/json" \
 *        -d '{"item":"tests_passing","status":"passed","url":"https://ci.example.com/run/42"}' \
 *        https://greenlight.example.com/api/v1/releases/<release id>/evidence
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ZodError } from "zod";
import { DomainError, HTTP_STATUS } from "../errors.ts";
import { evidenceInput, postEvidence } from "../governance/checklist.ts";
import type { Services } from "../services.ts";
import { describeZodError } from "../trpc/init.ts";
import { HttpError, readBody, sendJson } from "./request.ts";

export const EVIDENCE_ROUTE = /^\/api\/v1\/releases\/([^/]+)\/evidence$/;

export async function handleEvidence(req: IncomingMessage, res: ServerResponse, releaseId: string, services: Services, meta: { ip: string; traceId: string }): Promise<void> {
  if (req.method !== "POST") throw new HttpError(405, "Use POST to send evidence", { Allow: "POST" });
  if (!/^[0-9a-f-]{36}$/i.test(releaseId)) throw new HttpError(404, `Release ${releaseId} was not found`);
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req)).toString("utf8") || "null");
  } catch {
    throw new HttpError(400, "The request body is not valid JSON");
  }
  const authorization = req.headers.authorization ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] ?? null;
  try {
    const input = evidenceInput.parse(body ?? {});
    const result = await postEvidence(services.prisma, { token, releaseId, ...meta }, input);
    sendJson(res, 200, result);
  } catch (error) {
    if (error instanceof ZodError) return sendJson(res, 400, { error: describeZodError(error) });
    if (error instanceof DomainError) {
      // A refused token is an authentication failure: 401, never a hint of which part was wrong beyond the message.
      const status = error.kind === "forbidden" ? 401 : HTTP_STATUS[error.kind];
      return sendJson(res, status, { error: error.message }, status === 401 ? { "WWW-Authenticate": 'Bearer realm="greenlight"' } : {});
    }
    throw error;
  }
}
