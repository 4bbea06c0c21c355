/**
 * The REST API for pipelines under /api/v1 (operations in server/pipelines/api.ts, document at
 * /api/v1/openapi.json). Each request: validate the path, accept the token for the service and the
 * operation's scope, validate the body, call the domain with the token as the actor, answer. Bad
 * input is a 400 naming the field; refusals are 401/403; governance refusals are 412, as in the UI.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ZodError, type z } from "zod";
import { startDeploymentInPanel } from "../deployment-actions.ts";
import { DomainError, HTTP_STATUS } from "../errors.ts";
import { fieldLabel } from "../field-words.ts";
import { postEvidence } from "../governance/checklist.ts";
import { API_OPERATIONS, matchOperation, type OperationId } from "../pipelines/api.ts";
import { openApiJson } from "../pipelines/openapi.ts";
import { authenticate, type TokenCaller } from "../pipelines/tokens.ts";
import { deploymentById, releaseView, serviceView } from "../pipelines/views.ts";
import { createRelease } from "../releases/catalog.ts";
import type { Services } from "../services.ts";
import { describeZodError, findNulCharacter } from "../trpc/init.ts";
import { MAX_INPUT_DEPTH, nestsDeeperThan } from "./json-depth.ts";
import { HttpError, readBody, sendJson } from "./request.ts";

export const OPENAPI_PATH = "/api/v1/openapi.json";

type Matched =
  { id: OperationId; params: Record<string, string> } | { id: null; allowed: string[] } | { id: "openapi" };

/** The pipeline API's answer to a method and path, or null when the path is none of its routes. */
export function matchPipelineRoute(method: string | undefined, pathname: string): Matched | null {
  if (pathname === OPENAPI_PATH) return { id: "openapi" };
  return matchOperation(method ?? "GET", pathname);
}

interface Call<Id extends OperationId> {
  services: Services;
  params: z.infer<(typeof API_OPERATIONS)[Id]["params"]>;
  body: Id extends keyof BodyOf ? BodyOf[Id] : undefined;
  query: Record<string, unknown>;
  caller: TokenCaller;
}
type BodyOf = {
  [Id in OperationId as (typeof API_OPERATIONS)[Id] extends { body: z.ZodType } ? Id : never]: z.infer<
    (typeof API_OPERATIONS)[Id] extends { body: infer B extends z.ZodType } ? B : never
  >;
};

interface OperationHandler<Id extends OperationId> {
  /** The service the request is about (its token must belong to it), or null if the named thing does not exist. */
  serviceOf(services: Services, params: Call<Id>["params"]): Promise<string | null>;
  run(call: Call<Id>): Promise<unknown>;
}

const serviceBySlug = async (services: Services, params: { service: string }) =>
  (await services.prisma.service.findUnique({ where: { slug: params.service }, select: { id: true } }))?.id ?? null;

async function releaseIdOf(services: Services, serviceId: string, version: string): Promise<string> {
  const release = await services.prisma.release.findUnique({
    where: { serviceId_version: { serviceId, version } },
    select: { id: true },
  });
  if (!release) throw new DomainError("not_found", `Release ${version} was not found`);
  return release.id;
}

const UNIQUE_VIOLATION = "P2002";

const HANDLERS: { [Id in OperationId]: OperationHandler<Id> } = {
  getService: {
    serviceOf: serviceBySlug,
    run: ({ services, caller }) => serviceView(services.prisma, caller.serviceId),
  },
  createRelease: {
    serviceOf: serviceBySlug,
    async run({ services, caller, body }) {
      try {
        const release = await createRelease(services.prisma, caller.actor, { ...body, serviceId: caller.serviceId });
        return releaseView(services.prisma, caller.serviceId, release.version);
      } catch (error) {
        // Two pipelines created the same version at once: the unique index decided.
        if ((error as { code?: string }).code === UNIQUE_VIOLATION)
          throw new DomainError("conflict", `A release with the version ${body.version} already exists`, "version");
        throw error;
      }
    },
  },
  getRelease: {
    serviceOf: serviceBySlug,
    run: ({ services, caller, params }) => releaseView(services.prisma, caller.serviceId, params.version),
  },
  postEvidence: {
    serviceOf: serviceBySlug,
    run: async ({ services, caller, params, body }) =>
      postEvidence(services.prisma, caller, await releaseIdOf(services, caller.serviceId, params.version), body),
  },
  postEvidenceByReleaseId: {
    serviceOf: async (services, params) =>
      (await services.prisma.release.findUnique({ where: { id: params.releaseId }, select: { serviceId: true } }))
        ?.serviceId ?? null,
    run: ({ services, caller, params, body }) => postEvidence(services.prisma, caller, params.releaseId, body),
  },
  startDeployment: {
    serviceOf: serviceBySlug,
    async run({ services, caller, body }) {
      const releaseId = await releaseIdOf(services, caller.serviceId, body.version);
      const environment = await services.prisma.environment.findUnique({
        where: { serviceId_name: { serviceId: caller.serviceId, name: body.environment } },
        select: { id: true },
      });
      if (!environment)
        throw new DomainError("invalid", `The service has no environment "${body.environment}"`, "environment");
      const deployment = await startDeploymentInPanel(services, caller.actor, {
        releaseId,
        environmentId: environment.id,
        timeZone: body.timeZone,
      }).catch((error: unknown) => {
        throw renameField(error, { releaseId: "version", environmentId: "environment" });
      });
      return deploymentById(services.prisma, deployment.id, services.auth.publicUrl);
    },
  },
  getDeployment: {
    serviceOf: async (services, params) =>
      (
        await services.prisma.deployment.findUnique({
          where: { id: params.deploymentId },
          select: { environment: { select: { serviceId: true } } },
        })
      )?.environment.serviceId ?? null,
    run: ({ services, params, query }) =>
      deploymentById(
        services.prisma,
        params.deploymentId,
        services.auth.publicUrl,
        (query.afterSeq as number | undefined) ?? 0,
      ),
  },
};

const fieldOf = (error: ZodError) => String(error.issues[0]?.path[0] ?? "input");

async function readJson(req: IncomingMessage): Promise<unknown> {
  // Over 64 KB is 413 (readBody); nesting is limited before anything parses it.
  const raw = (await readBody(req)).toString("utf8");
  if (nestsDeeperThan(raw, MAX_INPUT_DEPTH))
    throw new DomainError("invalid", `The input must not be nested deeper than ${MAX_INPUT_DEPTH} levels`, "input");
  try {
    return JSON.parse(raw || "null");
  } catch {
    throw new DomainError("invalid", "The request body is not valid JSON", "input");
  }
}

function bearerToken(req: IncomingMessage): string | null {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? null;
}

export async function handlePipelineApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  matched: Matched,
  services: Services,
  meta: { ip: string; traceId: string },
): Promise<void> {
  if (matched.id === "openapi") {
    if (req.method !== "GET" && req.method !== "HEAD")
      throw new HttpError(405, "Use GET to read the OpenAPI document", { Allow: "GET" });
    const body = openApiJson(services.config.version);
    res.writeHead(200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
      "Cache-Control": "no-cache",
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return;
  }
  if (matched.id === null)
    throw new HttpError(405, `Use ${matched.allowed.join(" or ")} on ${url.pathname}`, {
      Allow: matched.allowed.join(", "),
    });
  const id = matched.id;
  const operation = API_OPERATIONS[id];
  try {
    const params = operation.params.parse(matched.params);
    const handler = HANDLERS[id] as OperationHandler<OperationId>;
    const serviceId = await handler.serviceOf(services, params);
    const caller = await authenticate(
      services.prisma,
      { token: bearerToken(req), route: `${operation.method} ${operation.path}`, ...meta },
      { serviceId, scope: operation.scope },
    );
    if (serviceId === null)
      throw new DomainError("not_found", `${Object.values(matched.params).join(" ")} was not found`);
    const query = "query" in operation ? operation.query.parse(Object.fromEntries(url.searchParams)) : {};
    let body: unknown;
    if ("body" in operation) {
      const raw = await readJson(req);
      if (raw === null || typeof raw !== "object" || Array.isArray(raw))
        throw new DomainError("invalid", "The request body must be a JSON object", "input");
      const nul = findNulCharacter(raw);
      if (nul !== null)
        throw new DomainError("invalid", `${fieldLabel(nul)}: must not contain a NUL character`, nul.split(".")[0]);
      body = operation.body.parse(raw);
    }
    const result = await handler.run({ services, params: params, body: body as never, query, caller });
    sendJson(res, operation.success.status, result);
  } catch (error) {
    if (error instanceof ZodError) return sendJson(res, 400, { error: describeZodError(error), field: fieldOf(error) });
    if (error instanceof DomainError) {
      const status = HTTP_STATUS[error.kind];
      return sendJson(
        res,
        status,
        { error: error.message, field: error.field ?? null },
        status === 401
          ? { "WWW-Authenticate": 'Bearer realm="greenlight"' }
          : error.retryAfterSeconds !== undefined
            ? { "Retry-After": String(error.retryAfterSeconds) }
            : {},
      );
    }
    throw error;
  }
}

/**
 * The domain names its own inputs (`releaseId`); the API's callers know them by the API's names
 * (`version`). The message is words already ("Release 1.4.2 …") and reads the same to both.
 */
function renameField(error: unknown, names: Record<string, string>): unknown {
  if (!(error instanceof DomainError)) return error;
  const renamed = error.field ? names[error.field] : undefined;
  return renamed ? new DomainError(error.kind, error.message, renamed) : error;
}
