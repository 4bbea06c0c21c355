/**
 * The audit log's REST routes, for auditors' tools and for downloads from the audit page:
 *
 *   GET /api/v1/audit/export?format=csv|json&from=&to=&serviceId=&environmentId=&actor=&action=&text=
 *       the events matching the filter, oldest first, streamed (see server/audit/export.ts);
 *       needs the permission of audit.list. The export is itself audited (audit.exported, with the
 *       filter and the number of events) once it has been sent.
 *   GET /api/v1/audit/verify
 *       whether the hash chain is intact, or where it is broken; needs the permission of audit.verify.
 *
 * Both are read-only: any other method is 405. No session is 401; a role outside the permission
 * table is 403 and audited as auth.forbidden, like a refused tRPC call. A filter the export does not
 * know (a typo would otherwise export everything) or a malformed value is 400 naming the parameter.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Actor } from "../audit/actor.ts";
import { streamAuditExport, type ExportFormat, type ExportResult } from "../audit/export.ts";
import { auditFilterInput, describeFilter, sessionReader, type AuditFilter } from "../audit/query.ts";
import { recordAudit } from "../audit/record.ts";
import { verifyAuditChain } from "../audit/verify.ts";
import { decide, rolesAllowed, type ProcedurePath } from "../auth/permissions.ts";
import type { SessionUser } from "../auth/session.ts";
import { fieldLabel } from "../field-words.ts";
import type { Services } from "../services.ts";
import { describeZodError } from "../trpc/init.ts";
import { HttpError, sendJson } from "./request.ts";

interface Meta {
  ip: string;
  traceId: string;
  user: SessionUser | null;
}

interface AuditRoute {
  /** The tRPC procedure whose permission the route shares. */
  permission: ProcedurePath;
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    services: Services,
    caller: { user: SessionUser; actor: Actor },
  ): Promise<void>;
}

export const AUDIT_ROUTES: Record<string, AuditRoute> = {
  "/api/v1/audit/export": { permission: "audit.list", handle: handleExport },
  "/api/v1/audit/verify": { permission: "audit.verify", handle: handleVerify },
};

export async function handleAuditRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  services: Services,
  meta: Meta,
): Promise<void> {
  const route = AUDIT_ROUTES[url.pathname];
  if (!route) throw new HttpError(404, `No API route at ${url.pathname}`);
  if (req.method !== "GET")
    throw new HttpError(405, `${url.pathname} is read-only: use GET (got ${req.method})`, { Allow: "GET" });
  if (!meta.user) throw new HttpError(401, "Sign in to continue");
  const user = meta.user;
  const actor: Actor = {
    userId: user.id,
    email: user.email,
    roles: [...user.roles],
    ip: meta.ip,
    traceId: meta.traceId,
  };
  if (decide(route.permission, user.roles) !== "allowed") {
    const path = `GET ${url.pathname}`;
    await services.prisma.$transaction((tx) =>
      recordAudit(tx, actor, {
        action: "auth.forbidden",
        entityType: "Route",
        entityId: path,
        after: { roles: user.roles },
      }),
    );
    // As for a refused procedure (server/trpc/init.ts): a burst of refusals raises a security alert.
    void services.security
      .observe({ kind: "forbidden", userId: user.id, email: user.email, ip: meta.ip })
      .catch(() => {});
    throw new HttpError(
      403,
      `${path} is for ${rolesAllowed(route.permission).join(", ")}; you are ${user.roles.join(", ")}`,
    );
  }
  return route.handle(req, res, url, services, { user, actor });
}

const FILTER_PARAMS = [
  "from",
  "to",
  "serviceId",
  "environmentId",
  "actor",
  "action",
  "entityType",
  "entityId",
  "text",
] as const;
const EXPORT_PARAMS = new Set<string>(["format", ...FILTER_PARAMS]);

/** The export's query string as a format and a filter, or a 400 naming the parameter. */
export function parseExportQuery(params: URLSearchParams): { format: ExportFormat; filter: AuditFilter } {
  for (const key of new Set(params.keys())) {
    if (!EXPORT_PARAMS.has(key))
      throw new HttpError(
        400,
        `The export has no parameter "${key}" (known: ${[...EXPORT_PARAMS].join(", ")})`,
        {},
        key,
      );
    if (params.getAll(key).length > 1) throw new HttpError(400, `${fieldLabel(key)}: give it once`, {}, key);
  }
  const format = params.get("format") ?? "csv";
  if (format !== "csv" && format !== "json")
    throw new HttpError(400, `Format: must be csv or json (got "${format}")`, {}, "format");
  for (const key of FILTER_PARAMS) {
    if (params.get(key)?.includes("\u0000"))
      throw new HttpError(400, `${fieldLabel(key)}: must not contain a NUL character`, {}, key);
  }
  const parsed = auditFilterInput.safeParse(
    Object.fromEntries(FILTER_PARAMS.map((k) => [k, params.get(k) ?? undefined])),
  );
  if (!parsed.success)
    throw new HttpError(400, describeZodError(parsed.error), {}, String(parsed.error.issues[0]?.path[0] ?? "input"));
  return { format, filter: parsed.data };
}

function fileName(format: ExportFormat, at: Date): string {
  return `greenlight-audit-${at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}.${format}`;
}

async function handleExport(
  _req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  services: Services,
  caller: { user: SessionUser; actor: Actor },
): Promise<void> {
  const { format, filter } = parseExportQuery(url.searchParams);
  const session = await services.db.openSession();
  let result: ExportResult = { rows: 0, completed: false, headSeq: 0 };
  let failure: unknown = null;
  try {
    res.writeHead(200, {
      "Content-Type": format === "csv" ? "text/csv; charset=utf-8; header=present" : "application/json; charset=utf-8",
      "Content-Disposition": `attachment; filename="${fileName(format, new Date())}"`,
      "Cache-Control": "no-store",
    });
    result = await streamAuditExport(sessionReader(session), filter, format, res);
  } catch (error) {
    failure = error;
  } finally {
    await session.close();
  }
  // The export is on record whatever happened to it: how far it got, and whether it completed.
  await services.prisma.$transaction((tx) =>
    recordAudit(tx, caller.actor, {
      action: "audit.exported",
      entityType: "AuditLog",
      after: {
        format,
        filter: describeFilter(filter),
        rows: result.rows,
        completed: result.completed && !failure,
        throughSeq: result.headSeq,
        ...(failure ? { error: "the export failed on the server" } : {}),
      },
    }),
  );
  if (failure) {
    services.log.error(
      { action: "audit.export_failed", metadata: { error: failure } },
      "The audit export failed while streaming",
    );
    // The status line is gone; cut the connection so the client sees an incomplete download
    // rather than a file that looks whole.
    res.destroy();
    return;
  }
  res.end();
}

async function handleVerify(_req: IncomingMessage, res: ServerResponse, _url: URL, services: Services): Promise<void> {
  const result = await verifyAuditChain(services.prisma, { checkpoint: await services.auditCheckpoints.latest() });
  sendJson(res, 200, { status: result.ok ? "intact" : "broken", ...result });
}
