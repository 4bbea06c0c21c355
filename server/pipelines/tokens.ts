/**
 * Per-service API tokens for pipelines: created by release managers and administrators with scopes
 * and an expiry, shown once, stored as a sha256 hash, revocable. A request that presents one is
 * either refused (audited, in its own transaction, with the caller's address) or becomes a caller
 * whose actor is the token's name: every use is audited and sets the token's last use.
 */
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Actor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import { conflict, forbidden, notFound, rateLimited, unauthenticated } from "../errors.ts";
import { REFUSAL_POLICY, refusalVerdict } from "./refusal-limit.ts";
import { judgeToken, scopeSchema, type Scope } from "./scopes.ts";

export const MAX_TOKEN_DAYS = 366;

export const createTokenInput = z.object({
  serviceId: z.string().uuid("must be a service id"),
  name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
  scopes: z
    .array(scopeSchema)
    .min(1, "must name at least one scope")
    .refine((scopes) => new Set(scopes).size === scopes.length, "must not repeat a scope"),
  expiresInDays: z
    .number({ error: "must be a whole number of days" })
    .int("must be a whole number of days")
    .min(1, `must be between 1 and ${MAX_TOKEN_DAYS} days`)
    .max(MAX_TOKEN_DAYS, `must be between 1 and ${MAX_TOKEN_DAYS} days`),
});

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

const DAY_MS = 24 * 3600 * 1000;

export async function createToken(
  prisma: PrismaClient,
  actor: Actor,
  input: z.infer<typeof createTokenInput>,
  now = new Date(),
) {
  const token = `glt_${randomBytes(32).toString("base64url")}`;
  const row = await prisma.$transaction(async (tx) => {
    const service = await tx.service.findUnique({ where: { id: input.serviceId } });
    if (!service) throw notFound(`Service ${input.serviceId}`);
    // The name is the actor in the audit log: two live tokens of one service never share it.
    if (
      await tx.serviceApiToken.findFirst({
        where: {
          serviceId: service.id,
          name: input.name,
          revokedAt: null,
          OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
        },
      })
    ) {
      throw conflict(`${service.name} already has a token called "${input.name}"; choose another name`, "name");
    }
    const created = await tx.serviceApiToken.create({
      data: {
        serviceId: service.id,
        name: input.name,
        tokenHash: hashToken(token),
        prefix: token.slice(0, 10),
        scopes: input.scopes,
        expiresAt: new Date(now.getTime() + input.expiresInDays * DAY_MS),
        createdById: actor.userId,
      },
    });
    await recordAudit(tx, actor, {
      action: "api_token.created",
      entityType: "ServiceApiToken",
      entityId: created.id,
      serviceId: service.id,
      after: { name: created.name, prefix: created.prefix, scopes: created.scopes, expiresAt: created.expiresAt },
    });
    return created;
  });
  return { id: row.id, name: row.name, prefix: row.prefix, scopes: row.scopes ?? [], expiresAt: row.expiresAt, token };
}

export async function revokeToken(prisma: PrismaClient, actor: Actor, id: string) {
  return prisma.$transaction(async (tx) => {
    const token = await tx.serviceApiToken.findUnique({ where: { id } });
    if (!token) throw notFound(`API token ${id}`);
    if (token.revokedAt) throw conflict(`The token "${token.name}" is already revoked`, "id");
    const after = await tx.serviceApiToken.update({ where: { id }, data: { revokedAt: new Date() } });
    await recordAudit(tx, actor, {
      action: "api_token.revoked",
      entityType: "ServiceApiToken",
      entityId: id,
      serviceId: token.serviceId,
      after: { name: token.name, prefix: token.prefix },
    });
    return after;
  });
}

export async function listTokens(prisma: PrismaClient, serviceId: string) {
  const rows = await prisma.serviceApiToken.findMany({
    where: { serviceId },
    orderBy: { createdAt: "desc" },
    select: {
      id: true,
      name: true,
      prefix: true,
      scopes: true,
      createdAt: true,
      expiresAt: true,
      revokedAt: true,
      lastUsedAt: true,
    },
  });
  return rows.map((row) => ({ ...row, scopes: row.scopes ?? [] }));
}

/** A request that presents a token: what it is and where it came from. */
export interface TokenRequest {
  token: string | null;
  /** What was asked, for the audit log: "POST /api/v1/services/:service/releases". */
  route: string;
  ip: string;
  traceId: string;
}

/** A pipeline whose token was accepted. */
export interface TokenCaller {
  tokenId: string;
  name: string;
  serviceId: string;
  scopes: string[];
  actor: Actor;
}

export function tokenActor(name: string, request: { ip: string; traceId: string }): Actor {
  return { userId: null, email: `token:${name}`, roles: [], ip: request.ip, traceId: request.traceId };
}

/**
 * Accepts the request's token for a service and scope, or throws a 401/403 DomainError after
 * auditing the refusal. `serviceId` is null when the request names something that does not exist:
 * the caller answers 404 once the token is accepted.
 */
export async function authenticate(
  prisma: PrismaClient,
  request: TokenRequest,
  need: { serviceId: string | null; scope: Scope },
  now = new Date(),
): Promise<TokenCaller> {
  const stored = request.token
    ? await prisma.serviceApiToken.findUnique({ where: { tokenHash: hashToken(request.token) } })
    : null;
  const verdict = judgeToken(request.token, stored ? { ...stored, scopes: stored.scopes ?? [] } : null, need, now);
  if (!verdict.ok) {
    const anonymous = { userId: null, email: null, roles: [], ip: request.ip, traceId: request.traceId };
    const limited = await prisma.$transaction(async (tx) => {
      // One address at a time, so parallel refusals cannot all see room in the window.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`greenlight:api-refusals:${request.ip}`}))`;
      const since = new Date(now.getTime() - REFUSAL_POLICY.windowSeconds * 1000);
      const [seen] = await tx.$queryRaw<{ recorded: number; oldest: Date | null }[]>`
        SELECT count(*)::int AS "recorded", min("at") AS "oldest" FROM "AuditEvent"
        WHERE "action" IN ('api_token.refused', 'api_token.throttled') AND "ip" = ${request.ip} AND "at" > ${since}`;
      const decision = refusalVerdict(seen?.recorded ?? 0, seen?.oldest ?? null, now);
      if (decision.record === "refusal")
        await recordAudit(tx, anonymous, {
          action: "api_token.refused",
          entityType: "ServiceApiToken",
          entityId: stored?.id ?? null,
          serviceId: stored?.serviceId ?? null,
          after: {
            reason: verdict.reason,
            route: request.route,
            scope: need.scope,
            tokenPrefix: request.token?.slice(0, 10) ?? null,
          },
        });
      else if (decision.record === "throttled")
        await recordAudit(tx, anonymous, {
          action: "api_token.throttled",
          entityType: "ServiceApiToken",
          entityId: null,
          after: { route: request.route, ...REFUSAL_POLICY, retryAfterSeconds: decision.retryAfterSeconds },
        });
      return decision;
    });
    if (limited.record !== "refusal")
      throw rateLimited(
        `Too many refused requests from this address (${REFUSAL_POLICY.limit} in ${REFUSAL_POLICY.windowSeconds} s); try again in ${limited.retryAfterSeconds} s`,
        limited.retryAfterSeconds,
      );
    throw verdict.status === 401 ? unauthenticated(verdict.reason) : forbidden(verdict.reason);
  }
  const token = stored!;
  const actor = tokenActor(token.name, request);
  await prisma.$transaction(async (tx) => {
    await tx.serviceApiToken.update({ where: { id: token.id }, data: { lastUsedAt: now } });
    await recordAudit(tx, actor, {
      action: "api_token.used",
      entityType: "ServiceApiToken",
      entityId: token.id,
      serviceId: token.serviceId,
      after: { route: request.route, scope: need.scope },
    });
  });
  return { tokenId: token.id, name: token.name, serviceId: token.serviceId, scopes: token.scopes ?? [], actor };
}
