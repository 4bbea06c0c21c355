/**
 * The REST API for pipelines, as data: every operation's method, path, scope, parameters, body and
 * answers, as zod schemas. The HTTP route (server/http/pipeline-api.ts) matches and validates with
 * these, and the OpenAPI document (openapi.ts) is generated from them, so the two cannot disagree.
 */
import { z } from "zod";
import "zod-openapi";
import { evidenceInput } from "../governance/checklist.ts";
import { createReleaseInput } from "../releases/catalog.ts";
import { startDeploymentInput } from "../releases/commands.ts";
import { DEPLOYMENT_STATUSES } from "../releases/state-machine.ts";
import type { Scope } from "./scopes.ts";

// ─── Parameters ──────────────────────────────────────────────────────────────────────────────────

const serviceParam = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a service's slug (lowercase letters, digits and dashes)")
  .meta({ description: "The service's slug, as on its page (e.g. checkout)", example: "checkout" });
const versionParam = z
  .string()
  .regex(/^[\w.+-]{1,64}$/, "must be a release version (letters, digits, dots, dashes, pluses or underscores)")
  .meta({ description: "The release's version", example: "1.4.2" });
const deploymentIdParam = z.string().uuid("must be a deployment id").meta({ description: "The deployment's id" });
const releaseIdParam = z.string().uuid("must be a release id").meta({ description: "The release's id" });

// ─── Bodies ──────────────────────────────────────────────────────────────────────────────────────

export const releaseCreateBody = createReleaseInput.omit({ serviceId: true }).meta({
  id: "ReleaseCreate",
  description:
    "A release of the service. `settings` is handed to the release's processes on the local target (the demo service reads failureRate, latencyMs, …).",
});

export const deploymentStartBody = z
  .object({
    version: versionParam,
    environment: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be an environment's name (lowercase letters, digits and dashes)")
      .meta({ description: "The environment's name", example: "staging" }),
    timeZone: startDeploymentInput.shape.timeZone.meta({
      description: "IANA time zone in which refusals name times (default UTC)",
    }),
  })
  .meta({ id: "DeploymentStart" });

export const evidenceBody = evidenceInput.meta({
  id: "Evidence",
  description: "The result of an automatic checklist item, from CI",
});

// ─── Answers ─────────────────────────────────────────────────────────────────────────────────────

export const errorBody = z
  .object({
    error: z.string().meta({ description: "What was wrong, naming the field when there is one" }),
    field: z.string().nullable().meta({ description: "The input field the error is about, if any" }),
  })
  .meta({ id: "Error" });

export const VERDICTS = ["in_progress", "succeeded", "rolled_back", "failed", "aborted"] as const;
export type Verdict = (typeof VERDICTS)[number];

const timestamp = z.string().meta({ description: "ISO 8601 time", example: "2026-11-30T14:05:00.000Z" });

export const releaseBody = z
  .object({
    id: z.string(),
    service: z.string(),
    version: z.string(),
    artifact: z.string(),
    commitSha: z.string().nullable(),
    commitTime: timestamp.nullable(),
    notes: z.string(),
    createdAt: timestamp,
    deployments: z.array(
      z.object({
        id: z.string(),
        environment: z.string(),
        status: z.enum(DEPLOYMENT_STATUSES),
        verdict: z.enum(VERDICTS),
        startedAt: timestamp,
        finishedAt: timestamp.nullable(),
      }),
    ),
  })
  .meta({ id: "Release" });

/** Gate results and rollback reasons carry whatever the engine explains; clients print every field. */
const gateResult = z
  .looseObject({
    stepIndex: z.number(),
    weight: z.number(),
    gate: z.string(),
    outcome: z.string().meta({ description: "pass, fail or waiting" }),
    observed: z.number().nullable(),
    threshold: z.number(),
    detail: z.string(),
  })
  .meta({ id: "GateResult" });

export const deploymentBody = z
  .object({
    id: z.string(),
    url: z.string().meta({ description: "The deployment's page in the panel" }),
    service: z.string(),
    environment: z.string(),
    version: z.string(),
    status: z.enum(DEPLOYMENT_STATUSES),
    verdict: z.enum(VERDICTS).meta({ description: "in_progress until the deployment ends; then how it ended" }),
    statusDetail: z.string().nullable().meta({ description: "What the panel is waiting for right now" }),
    stepIndex: z.number(),
    steps: z.array(z.number()).meta({ description: "Traffic percentages of the steps" }),
    emergency: z.boolean(),
    startedAt: timestamp,
    finishedAt: timestamp.nullable(),
    rollbackReason: z.record(z.string(), z.unknown()).nullable().meta({
      description: "Why it was rolled back: kind (gate, smoke, manual, …) and the gate, its values and explanation",
    }),
    failureReason: z.string().nullable(),
    gates: z.array(gateResult),
    smokeFailures: z.array(
      z.object({ round: z.string(), name: z.string(), status: z.number().nullable(), detail: z.string() }),
    ),
    events: z
      .array(z.object({ seq: z.number(), at: timestamp, kind: z.string(), message: z.string() }))
      .meta({ description: "The timeline, oldest first (after `afterSeq` when given)" }),
  })
  .meta({ id: "Deployment" });

export const serviceBody = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    environments: z.array(
      z.object({
        name: z.string(),
        production: z.boolean(),
        liveVersion: z.string().nullable(),
        activeDeployment: z
          .object({ id: z.string(), version: z.string(), status: z.enum(DEPLOYMENT_STATUSES) })
          .nullable(),
      }),
    ),
  })
  .meta({ id: "Service" });

export const evidenceResultBody = z
  .object({ item: z.string(), status: z.enum(["passed", "failed"]), environments: z.array(z.string()) })
  .meta({ id: "EvidenceResult" });

// ─── Operations ──────────────────────────────────────────────────────────────────────────────────

export interface ApiOperation {
  method: "GET" | "POST";
  /** OpenAPI form: /api/v1/services/{service}/releases */
  path: string;
  summary: string;
  scope: Scope;
  params: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  success: { status: 200 | 201; description: string; schema: z.ZodType };
  /** Error statuses the operation answers with, besides 400, 401, 403 and 404 (every operation has those). */
  errors?: Partial<Record<409 | 412, string>>;
  deprecated?: boolean;
}

const EVIDENCE_SUCCESS = {
  status: 200,
  description: "The environments whose checklist the evidence completed (or failed)",
  schema: evidenceResultBody,
} as const;

export const API_OPERATIONS = {
  getService: {
    method: "GET",
    path: "/api/v1/services/{service}",
    summary: "The service's environments, what is live in each and any deployment under way",
    scope: "read",
    params: z.object({ service: serviceParam }),
    success: { status: 200, description: "The service", schema: serviceBody },
  },
  createRelease: {
    method: "POST",
    path: "/api/v1/services/{service}/releases",
    summary: "Create a release",
    scope: "releases:write",
    params: z.object({ service: serviceParam }),
    body: releaseCreateBody,
    success: { status: 201, description: "The release was created", schema: releaseBody },
    errors: { 409: "The service already has a release with that version (field: version)" },
  },
  getRelease: {
    method: "GET",
    path: "/api/v1/services/{service}/releases/{version}",
    summary: "A release and its deployments, newest first",
    scope: "read",
    params: z.object({ service: serviceParam, version: versionParam }),
    success: { status: 200, description: "The release", schema: releaseBody },
  },
  postEvidence: {
    method: "POST",
    path: "/api/v1/services/{service}/releases/{version}/evidence",
    summary: "Post evidence for an automatic checklist item of a release",
    scope: "evidence:write",
    params: z.object({ service: serviceParam, version: versionParam }),
    body: evidenceBody,
    success: EVIDENCE_SUCCESS,
  },
  postEvidenceByReleaseId: {
    method: "POST",
    path: "/api/v1/releases/{releaseId}/evidence",
    summary: "Post evidence by release id (the first form; kept for existing pipelines)",
    scope: "evidence:write",
    params: z.object({ releaseId: releaseIdParam }),
    body: evidenceBody,
    success: EVIDENCE_SUCCESS,
    deprecated: true,
  },
  startDeployment: {
    method: "POST",
    path: "/api/v1/services/{service}/deployments",
    summary: "Start deploying a release to an environment, under the same governance as in the panel",
    scope: "deployments:write",
    params: z.object({ service: serviceParam }),
    body: deploymentStartBody,
    success: { status: 201, description: "The deployment started", schema: deploymentBody },
    errors: {
      409: "The environment already has an active deployment, the release is already live there, or the environment's target configuration is invalid",
      412: "Governance refused the start (promotion order, change request approvals, checklist, maintenance window); the message says why",
    },
  },
  getDeployment: {
    method: "GET",
    path: "/api/v1/deployments/{deploymentId}",
    summary: "A deployment's status, verdict, gates and timeline",
    scope: "read",
    params: z.object({ deploymentId: deploymentIdParam }),
    query: z.object({
      afterSeq: z.coerce
        .number({ error: "must be a whole number" })
        .int("must be a whole number")
        .min(0, "must be 0 or more")
        .optional()
        .meta({ description: "Only timeline events after this one" }),
    }),
    success: { status: 200, description: "The deployment", schema: deploymentBody },
  },
} as const satisfies Record<string, ApiOperation>;

export type OperationId = keyof typeof API_OPERATIONS;

/** Matches a method and path against the operations: the operation and its raw path parameters. */
export function matchOperation(
  method: string,
  pathname: string,
): { id: OperationId; params: Record<string, string> } | { id: null; allowed: string[] } | null {
  const allowed: string[] = [];
  for (const [id, operation] of Object.entries(API_OPERATIONS) as [OperationId, ApiOperation][]) {
    const params = matchPath(operation.path, pathname);
    if (!params) continue;
    if (operation.method === method) return { id, params };
    allowed.push(operation.method);
  }
  return allowed.length ? { id: null, allowed } : null;
}

function matchPath(template: string, pathname: string): Record<string, string> | null {
  const want = template.split("/");
  const got = pathname.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (name) {
      if (!got[i]) return null;
      try {
        params[name] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (part !== got[i]) return null;
  }
  return params;
}

/** The deployment's verdict for pipelines: under way, or how it ended. */
export function verdictOf(status: (typeof DEPLOYMENT_STATUSES)[number]): Verdict {
  switch (status) {
    case "succeeded":
    case "rolled_back":
    case "failed":
    case "aborted":
      return status;
    default:
      return "in_progress";
  }
}
