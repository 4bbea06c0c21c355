/**
 * tRPC setup and the one procedure builder every route uses. The builder enforces the permission
 * table (server/auth/permissions.ts) by procedure path before input is even parsed: no session is
 * 401, a role outside the table is 403 (and audited), a procedure missing from the table is 403.
 * Domain errors become 4xx answers whose message names the field.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import { recordAudit } from "../audit/record.ts";
import { decide, rolesAllowed } from "../auth/permissions.ts";
import { describeUniqueViolation, uniqueViolation } from "../db/unique-violation.ts";
import { DomainError, type DomainErrorKind } from "../errors.ts";
import { fieldLabel } from "../field-words.ts";
import { describeAwsFailure } from "../targets/aws-errors.ts";
import { actorFor, userActorFor, type Context } from "./context.ts";

const TRPC_CODE: Record<DomainErrorKind, TRPCError["code"]> = {
  invalid: "BAD_REQUEST",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  forbidden: "FORBIDDEN",
  precondition: "PRECONDITION_FAILED",
  unauthenticated: "UNAUTHORIZED",
  upstream: "BAD_GATEWAY",
  rate_limited: "TOO_MANY_REQUESTS",
};

/**
 * An issue's message for people. A number box left empty reaches us as NaN (JSON null, or a form's
 * Number("")), which zod words as "expected number, received NaN".
 */
export function issueMessage(issue: ZodError["issues"][number]): string {
  if (
    issue.code === "invalid_type" &&
    issue.expected === "number" &&
    (issue as { received?: unknown }).received === "NaN"
  )
    return "is empty or not a number; enter a number";
  return issue.message;
}

/** "Email: must be a valid e-mail address; Roles (item 1): must be one of …" (the paths go in `fieldErrors`). */
export function describeZodError(error: ZodError): string {
  return error.issues.map((issue) => `${fieldLabel(issue.path)}: ${issueMessage(issue)}`).join("; ");
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    // An unexpected error's message (a database error, with Prisma's excerpt of our source) is
    // logged by the HTTP route, never sent.
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    const zod = !internal && error.cause instanceof ZodError ? error.cause : null;
    const domain = error.cause instanceof DomainError ? error.cause : null;
    return {
      ...shape,
      message: internal ? "Internal server error" : zod ? describeZodError(zod) : shape.message,
      data: {
        ...shape.data,
        // Stack traces stay on the server.
        stack: undefined,
        field: zod ? String(zod.issues[0]?.path[0] ?? "input") : (domain?.field ?? null),
        fieldErrors: zod
          ? Object.fromEntries(zod.issues.map((i) => [i.path.join(".") || "input", issueMessage(i)]))
          : null,
      },
    };
  },
});

export const createRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Errors that are not the panel's fault, translated in this one place for every procedure: a unique
 * constraint the database enforced (two requests that both found the name free and both created it)
 * is a 409 naming the field; AWS failing or out of reach is a 502 naming the AWS error.
 */
function asDomainError(cause: unknown): DomainError | null {
  if (cause instanceof DomainError) return cause;
  const aws = describeAwsFailure(cause);
  if (aws) return new DomainError("upstream", aws);
  const unique = uniqueViolation(cause);
  if (!unique) return null;
  const { field, message } = describeUniqueViolation(unique);
  return new DomainError("conflict", message, field);
}

const translateDomainErrors = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  const cause = result.ok ? null : asDomainError(result.error.cause);
  if (cause) {
    // Refusals the domain makes (separation of duties) count towards security alerts too.
    if (cause.kind === "forbidden" && ctx.user)
      void ctx.services.security
        .observe({ kind: "forbidden", userId: ctx.user.id, email: ctx.user.email, ip: ctx.ip })
        .catch(() => {});
    if (cause.kind === "upstream")
      ctx.services.log.warn({ action: "trpc.upstream_error", metadata: { error: cause.message } }, cause.message);
    throw new TRPCError({ code: TRPC_CODE[cause.kind], message: cause.message, cause });
  }
  return result;
});

const enforcePermission = t.middleware(async ({ ctx, path, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue" });
  const decision = decide(path, ctx.user.roles);
  if (decision !== "allowed") {
    const message =
      decision === "no-entry"
        ? `${path} has no entry in the permission table, so nobody may call it`
        : `${path} is for ${rolesAllowed(path).join(", ")}; you are ${ctx.user.roles.join(", ")}`;
    await ctx.services.prisma.$transaction((tx) =>
      recordAudit(tx, actorFor(ctx), {
        action: "auth.forbidden",
        entityType: "Procedure",
        entityId: path,
        after: { roles: ctx.user!.roles },
      }),
    );
    void ctx.services.security
      .observe({ kind: "forbidden", userId: ctx.user.id, email: ctx.user.email, ip: ctx.ip })
      .catch(() => {});
    throw new TRPCError({ code: "FORBIDDEN", message });
  }
  return next({ ctx: { ...ctx, user: ctx.user, actor: userActorFor(ctx, ctx.user) } });
});

/** The dotted path of the first string containing a NUL character (PostgreSQL cannot store one), or null. */
export function findNulCharacter(value: unknown, path = ""): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (value === null || typeof value !== "object") return null;
  for (const [key, child] of Object.entries(value)) {
    const found = findNulCharacter(child, path ? `${path}.${key}` : key);
    if (found !== null) return found;
  }
  return null;
}

const rejectNulCharacters = t.middleware(async ({ getRawInput, next }) => {
  const path = findNulCharacter(await getRawInput());
  if (path !== null) {
    const message = `${fieldLabel(path)}: must not contain a NUL character`;
    const field = path.split(".")[0] || "input";
    throw new TRPCError({ code: "BAD_REQUEST", message, cause: new DomainError("invalid", message, field) });
  }
  return next();
});

/** Every procedure is built from this: permission-checked, with domain errors translated. */
export const procedure = t.procedure.use(translateDomainErrors).use(enforcePermission).use(rejectNulCharacters);
