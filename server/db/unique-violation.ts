/**
 * Recognises a unique-constraint violation in an error from Prisma (P2002 from the query engine,
 * P2010 from raw SQL), on either driver adapter: PGlite names the fields, node-postgres names the
 * index (`User_email_key`, Prisma's naming: table, columns, `key`). Two requests that both checked
 * "does it exist?" and both created it end here; callers turn it into a 409 naming the field.
 */
import { fieldWords } from "../field-words.ts";

export interface UniqueViolation {
  /** The model (table) whose constraint was violated, when known. */
  model: string | null;
  /** The fields of the constraint, as named in the schema. */
  fields: string[];
}

type Shape = {
  code?: unknown;
  meta?: {
    modelName?: unknown;
    driverAdapterError?: {
      cause?: { kind?: unknown; constraint?: { fields?: unknown; index?: unknown }; table?: unknown };
    };
  };
};

export function uniqueViolation(error: unknown): UniqueViolation | null {
  if (!error || typeof error !== "object") return null;
  const { code, meta } = error as Shape;
  if (code !== "P2002" && code !== "P2010") return null;
  const cause = meta?.driverAdapterError?.cause;
  if (cause?.kind !== "UniqueConstraintViolation") return null;
  const model =
    typeof meta?.modelName === "string" ? meta.modelName : typeof cause.table === "string" ? cause.table : null;
  const listed = cause.constraint?.fields;
  if (Array.isArray(listed) && listed.every((f) => typeof f === "string"))
    return { model, fields: listed.map((f) => f.replace(/^"|"$/g, "")) };
  const index = typeof cause.constraint?.index === "string" ? cause.constraint.index : null;
  return { model, fields: index ? fieldsOfIndex(index, model) : [] };
}

/**
 * `User_email_key` → ["email"]; `Notification_userId_dedupeKey_key` → ["userId", "dedupeKey"]. A primary
 * key's name (`X_pkey`) does not say its columns: none are named rather than a wrong one.
 */
export function fieldsOfIndex(index: string, model: string | null): string[] {
  if (index.endsWith("_pkey")) return [];
  const withoutTable =
    model && index.startsWith(`${model}_`) ? index.slice(model.length + 1) : index.slice(index.indexOf("_") + 1);
  return withoutTable.replace(/_key$/, "").split("_").filter(Boolean);
}

/**
 * "A user with this email already exists", naming the field `email`. Of a composite key the last
 * field is the one named (`serviceId, version`: the version is what the caller chose; the service is
 * its scope).
 */
export function describeUniqueViolation(violation: UniqueViolation): { field: string; message: string } {
  const fields = violation.fields.length > 0 ? violation.fields : ["input"];
  const field = fields[fields.length - 1]!;
  const model = violation.model ? fieldWords(violation.model) : "record";
  // "an audit event", "an environment"; but "a user".
  const what = `${/^[aeio]/i.test(model) ? "An" : "A"} ${model}`;
  return { field, message: `${what} with this ${fields.map(fieldWords).join(" and ")} already exists` };
}
