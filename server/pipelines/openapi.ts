/**
 * The OpenAPI 3.1 document of the pipeline API, generated (zod-openapi) from the operations table
 * in api.ts: the same schemas the route validates with. Built once per version and cached.
 */
import type { z } from "zod";
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from "zod-openapi";
import { API_OPERATIONS, errorBody, type ApiOperation } from "./api.ts";
import { SCOPE_LABELS } from "./scopes.ts";

const COMMON_ERRORS = {
  400: "Bad input: the message names the field",
  401: "No token, or an unknown, expired or revoked one",
  403: "The token belongs to another service, or lacks the scope",
  404: "No such service, release or deployment",
  429: "Too many refused requests from this address in the last minute; Retry-After says when to try again",
} as const;

function operationObject(id: string, operation: ApiOperation): ZodOpenApiOperationObject {
  const json = (schema: z.ZodType) => ({ content: { "application/json": { schema } } });
  const responses: Record<string, ZodOpenApiResponseObject> = {
    [operation.success.status]: { description: operation.success.description, ...json(operation.success.schema) },
  };
  for (const [status, description] of Object.entries({ ...COMMON_ERRORS, ...operation.errors }))
    responses[status] = { description, ...json(errorBody) };
  return {
    operationId: id,
    summary: operation.summary,
    description: `Needs a token with the scope \`${operation.scope}\` (${SCOPE_LABELS[operation.scope]}).`,
    security: [{ bearerToken: [] }],
    requestParams: { path: operation.params, ...(operation.query ? { query: operation.query } : {}) },
    ...(operation.body ? { requestBody: { required: true, ...json(operation.body) } } : {}),
    responses,
    ...(operation.deprecated ? { deprecated: true } : {}),
  };
}

export function buildOpenApiDocument(version: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const [id, operation] of Object.entries(API_OPERATIONS) as [string, ApiOperation][]) {
    paths[operation.path] = {
      ...paths[operation.path],
      [operation.method.toLowerCase()]: operationObject(id, operation),
    };
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Greenlight pipeline API",
      version,
      description:
        "What CI jobs ask of Greenlight: create a release, post checklist evidence, start a deployment and follow it to its verdict. " +
        "Authenticate with a per-service CI token (Service page → CI tokens) as `Authorization: Bearer <token>`. " +
        "A token never approves a change and never bypasses a maintenance window or the checklist, not even under an authorised emergency: deployments it starts meet the same governance as in the panel.",
    },
    components: {
      securitySchemes: {
        bearerToken: { type: "http", scheme: "bearer", description: "A per-service API token (glt_…)" },
      },
    },
    paths,
  });
}

let cached: { version: string; body: string } | null = null;

/** The document as JSON text, generated on first use. */
export function openApiJson(version: string): string {
  if (cached?.version !== version) cached = { version, body: JSON.stringify(buildOpenApiDocument(version)) };
  return cached.body;
}
