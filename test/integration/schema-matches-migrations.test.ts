/**
 * prisma/schema.prisma and the hand-written SQL in prisma/migrations must describe the same database:
 * the client is generated from the one, the tables are created by the other. This test applies every
 * migration (the test database is already migrated), reads the result back from pg_catalog and
 * compares it with Prisma's own reading of the schema (DMMF): tables, columns, types, nullability,
 * defaults, enums, primary keys, unique and plain indexes, and foreign keys, following the SQL that
 * `prisma migrate` would generate. Mismatches are listed one per line.
 *
 * The comparison is itself tested: against the schema or the SQL altered in known ways, and against a
 * small synthetic schema with the features the real one does not use yet (relations, @map, native types).
 */
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { getDMMF, type GetDMMFError } from "@prisma/get-dmmf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../../server/db/open.ts";
import type { SqlQueryable, SqlSession } from "../../server/db/sql.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";

type Datamodel = Exclude<ReturnType<typeof getDMMF>, GetDMMFError>["datamodel"];
type Model = Datamodel["models"][number];
type Field = Model["fields"][number];

const SCHEMA_FILE = path.resolve(__dirname, "../../prisma/schema.prisma");

function loadDatamodel(schema: string): Datamodel {
  const result = getDMMF({ datamodel: schema });
  if (!("datamodel" in result)) throw new Error(`The schema does not parse: ${result.reason}`);
  return result.datamodel;
}

// ---------------------------------------------------------------------------------------------
// The database side, read from pg_catalog.

interface DbColumn {
  table: string;
  name: string;
  /** format_type(), except enums: "enum Name" / "enum Name[]". */
  type: string;
  notNull: boolean;
  /** pg_get_expr() of the default, as PostgreSQL prints it. */
  default: string | null;
  /** The default evaluated (to_jsonb), for constant defaults. */
  defaultValue?: unknown;
  identity: string;
  generated: string;
}

interface DbIndex {
  table: string;
  name: string;
  /** Key columns in order; null for an expression. */
  columns: (string | null)[];
  descending: boolean[];
  unique: boolean;
  primary: boolean;
  partial: boolean;
  method: string;
}

interface DbForeignKey {
  table: string;
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}

interface DbSchema {
  tables: string[];
  columns: DbColumn[];
  indexes: DbIndex[];
  foreignKeys: DbForeignKey[];
  enums: { name: string; values: string[] }[];
}

const REFERENTIAL_ACTIONS: Record<string, string> = {
  a: "NoAction",
  r: "Restrict",
  c: "Cascade",
  n: "SetNull",
  d: "SetDefault",
};

async function readDatabaseSchema(db: SqlQueryable, schema: string): Promise<DbSchema> {
  const tables = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
    [schema],
  );
  const columns = await db.query<{
    table_name: string;
    name: string;
    type: string;
    sql_type: string;
    not_null: boolean;
    default_expr: string | null;
    identity: string;
    generated: string;
  }>(
    `SELECT c.relname AS table_name, a.attname AS name, a.attnotnull AS not_null,
            format_type(a.atttypid, a.atttypmod) AS sql_type,
            CASE WHEN t.typtype = 'e' THEN 'enum ' || t.typname
                 WHEN et.typtype = 'e' THEN 'enum ' || et.typname || '[]'
                 ELSE format_type(a.atttypid, a.atttypmod) END AS type,
            pg_get_expr(d.adbin, d.adrelid) AS default_expr,
            a.attidentity::text AS identity, a.attgenerated::text AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const indexes = await db.query<{
    table_name: string;
    name: string;
    columns: string;
    descending: string;
    unique: boolean;
    primary: boolean;
    partial: boolean;
    method: string;
  }>(
    `SELECT c.relname AS table_name, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
            x.indpred IS NOT NULL AS partial, am.amname AS method,
            (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum WHERE k.ord <= x.indnkeyatts)::text AS columns,
            (SELECT json_agg((k.opt & 1) = 1 ORDER BY k.ord) FROM unnest(x.indoption::int2[]) WITH ORDINALITY k(opt, ord)
              WHERE k.ord <= x.indnkeyatts)::text AS descending
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class c ON c.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = i.relam
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname, i.relname`,
    [schema],
  );
  const foreignKeys = await db.query<{
    table_name: string;
    name: string;
    columns: string;
    ref_table: string;
    ref_columns: string;
    on_delete: string;
    on_update: string;
  }>(
    `SELECT c.relname AS table_name, con.conname AS name, rc.relname AS ref_table,
            (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)::text AS columns,
            (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum)::text AS ref_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE n.nspname = $1 AND con.contype = 'f'
      ORDER BY c.relname, con.conname`,
    [schema],
  );
  const enums = await db.query<{ name: string; values: string }>(
    `SELECT t.typname AS name, (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)::text AS values
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND t.typtype = 'e' ORDER BY 1`,
    [schema],
  );

  const result: DbSchema = {
    tables: tables.map((t) => t.name),
    columns: [],
    indexes: indexes.map((i) => ({
      table: i.table_name,
      name: i.name,
      columns: JSON.parse(i.columns) as (string | null)[],
      descending: JSON.parse(i.descending) as boolean[],
      unique: i.unique,
      primary: i.primary,
      partial: i.partial,
      method: i.method,
    })),
    foreignKeys: foreignKeys.map((f) => ({
      table: f.table_name,
      name: f.name,
      columns: JSON.parse(f.columns) as string[],
      refTable: f.ref_table,
      refColumns: JSON.parse(f.ref_columns) as string[],
      onDelete: REFERENTIAL_ACTIONS[f.on_delete] ?? f.on_delete,
      onUpdate: REFERENTIAL_ACTIONS[f.on_update] ?? f.on_update,
    })),
    enums: enums.map((e) => ({ name: e.name, values: JSON.parse(e.values ?? "[]") as string[] })),
  };
  for (const c of columns) {
    const column: DbColumn = {
      table: c.table_name,
      name: c.name,
      type: c.type,
      notNull: c.not_null,
      default: c.default_expr,
      identity: c.identity,
      generated: c.generated,
    };
    // Constant defaults are evaluated, so that 12.5 and '12.50'::numeric, or '{"a":1}' and '{"a": 1}', compare equal.
    // Never a sequence: nextval() would use up a value.
    if (c.default_expr !== null && !/nextval\s*\(/i.test(c.default_expr.replace(/'(?:[^']|'')*'/g, "''"))) {
      const [row] = await db.query<{ v: string }>(`SELECT to_jsonb((${c.default_expr})::${c.sql_type})::text AS v`);
      column.defaultValue = JSON.parse(row!.v);
    }
    result.columns.push(column);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// What `prisma migrate` creates for the schema, and the comparison.

const SCALAR_TYPES: Record<string, string> = {
  String: "text",
  Int: "integer",
  BigInt: "bigint",
  Boolean: "boolean",
  DateTime: "timestamp(3) without time zone",
  Json: "jsonb",
  Float: "double precision",
  Decimal: "numeric(65,30)",
  Bytes: "bytea",
};

/** @db.* attributes, as format_type() prints the column they create. */
const NATIVE_TYPES: Record<string, (args: readonly string[]) => string> = {
  Text: () => "text",
  Char: (a) => `character(${a[0] ?? 1})`,
  VarChar: (a) => (a.length > 0 ? `character varying(${a[0]})` : "character varying"),
  Bit: (a) => `bit(${a[0] ?? 1})`,
  VarBit: (a) => (a.length > 0 ? `bit varying(${a[0]})` : "bit varying"),
  Uuid: () => "uuid",
  Xml: () => "xml",
  Inet: () => "inet",
  Citext: () => "citext",
  SmallInt: () => "smallint",
  Integer: () => "integer",
  BigInt: () => "bigint",
  Oid: () => "oid",
  Real: () => "real",
  DoublePrecision: () => "double precision",
  Decimal: (a) => (a.length > 0 ? `numeric(${a[0]},${a[1] ?? 0})` : "numeric"),
  Money: () => "money",
  Timestamp: (a) => `timestamp${a.length > 0 ? `(${a[0]})` : ""} without time zone`,
  Timestamptz: (a) => `timestamp${a.length > 0 ? `(${a[0]})` : ""} with time zone`,
  Time: (a) => `time${a.length > 0 ? `(${a[0]})` : ""} without time zone`,
  Timetz: (a) => `time${a.length > 0 ? `(${a[0]})` : ""} with time zone`,
  Date: () => "date",
  Boolean: () => "boolean",
  Json: () => "json",
  JsonB: () => "jsonb",
  ByteA: () => "bytea",
};

/** uuid(), cuid() and friends are filled in by Prisma Client: no default in the database. */
const CLIENT_SIDE_DEFAULTS = new Set(["uuid", "cuid", "nanoid", "ulid"]);
const POSTGRES_MAX_IDENTIFIER = 63;

const list = (names: readonly (string | null)[]) => `(${names.map((n) => n ?? "<expression>").join(", ")})`;

function compareSchema(datamodel: Datamodel, db: DbSchema): string[] {
  const mismatches: string[] = [];
  const tableOf = (model: Model) => model.dbName ?? model.name;
  const columnOf = (field: Field) => field.dbName ?? field.name;
  const modelByName = new Map(datamodel.models.map((m) => [m.name, m]));
  const enumByName = new Map(datamodel.enums.map((e) => [e.name, e]));

  // Enums.
  const dbEnums = new Map(db.enums.map((e) => [e.name, e.values]));
  for (const e of datamodel.enums) {
    const typeName = e.dbName ?? e.name;
    const values = e.values.map((v) => v.dbName ?? v.name);
    const actual = dbEnums.get(typeName);
    if (!actual) mismatches.push(`enum ${e.name}: no type "${typeName}" in the database`);
    else if (!isDeepStrictEqual(actual, values))
      mismatches.push(
        `enum ${e.name}: the database has values [${actual.join(", ")}], schema.prisma [${values.join(", ")}]`,
      );
    dbEnums.delete(typeName);
  }
  for (const name of dbEnums.keys()) mismatches.push(`type "${name}": an enum that is not in schema.prisma`);

  // Tables.
  const expectedTables = new Set(datamodel.models.map(tableOf));
  for (const table of db.tables) {
    if (table !== "_prisma_migrations" && !expectedTables.has(table))
      mismatches.push(`table "${table}": no model in schema.prisma`);
  }
  const dbTables = new Set(db.tables);

  for (const model of datamodel.models) {
    const table = tableOf(model);
    if (!dbTables.has(table)) {
      mismatches.push(`model ${model.name}: no table "${table}" in the database`);
      continue;
    }
    const columnByField = (name: string) => {
      const field = model.fields.find((f) => f.name === name);
      return field ? columnOf(field) : `<unknown field ${name}>`;
    };

    // Columns.
    const dbColumns = new Map(db.columns.filter((c) => c.table === table).map((c) => [c.name, c]));
    for (const field of model.fields) {
      if (field.kind === "object") continue;
      const where = `${model.name}.${field.name}`;
      const column = dbColumns.get(columnOf(field));
      dbColumns.delete(columnOf(field));
      if (!column) {
        mismatches.push(`${where}: no column "${columnOf(field)}" in table "${table}"`);
        continue;
      }
      const type = expectedType(field, enumByName);
      if (column.type !== type) mismatches.push(`${where}: the column is ${column.type}, schema.prisma needs ${type}`);
      // Prisma never makes a list column NOT NULL (prisma/prisma#4729); an empty list is stored as '{}' or NULL.
      const notNull = field.isRequired && !field.isList;
      if (column.notNull !== notNull)
        mismatches.push(
          `${where}: the column is ${column.notNull ? "NOT NULL" : "nullable"}, schema.prisma needs ${notNull ? "NOT NULL" : "it nullable"}`,
        );
      const defaultProblem = compareDefault(field, column, table, enumByName);
      if (defaultProblem) mismatches.push(`${where}: ${defaultProblem}`);
      if (column.identity)
        mismatches.push(
          `${where}: the column is an identity column, which schema.prisma cannot express (autoincrement() is a sequence)`,
        );
      if (column.generated)
        mismatches.push(`${where}: the column is a generated column, which schema.prisma cannot express`);
    }
    for (const column of dbColumns.values())
      mismatches.push(`${model.name}: column "${column.name}" of table "${table}" is not in the model`);

    // Primary key, unique and plain indexes, matched by name.
    const dbIndexes = db.indexes.filter((i) => i.table === table);
    const expectedIndexes = datamodel.indexes.filter((i) => i.model === model.name);
    for (const index of expectedIndexes) {
      if (index.type === "fulltext") {
        mismatches.push(
          `${model.name}: full-text index ${list(index.fields.map((f) => f.name))} cannot exist on PostgreSQL`,
        );
        continue;
      }
      const columns = index.fields.map((f) => columnByField(f.name));
      const suffix = { id: "_pkey", unique: "_key", normal: "_idx" }[index.type];
      const name = index.dbName ?? defaultConstraintName(index.type === "id" ? [table] : [table, ...columns], suffix);
      const kind = { id: "primary key", unique: "unique index", normal: "index" }[index.type];
      const want = {
        columns,
        descending: index.fields.map((f) => f.sortOrder === "desc"),
        unique: index.type !== "normal",
        primary: index.type === "id",
        partial: false,
        method: (index.algorithm ?? "BTree").toLowerCase(),
      };
      const found = dbIndexes.find((i) => nameMatches(i.name, name, suffix));
      if (found) {
        dbIndexes.splice(dbIndexes.indexOf(found), 1);
        const got = {
          columns: found.columns,
          descending: found.descending,
          unique: found.unique,
          primary: found.primary,
          partial: found.partial,
          method: found.method,
        };
        if (!isDeepStrictEqual(got, want))
          mismatches.push(
            `${model.name}: ${kind} "${name}" is ${describeIndex(got)} in the database, schema.prisma needs ${describeIndex(want)}`,
          );
        continue;
      }
      const renamed = dbIndexes.find(
        (i) => isDeepStrictEqual(i.columns, want.columns) && i.unique === want.unique && i.primary === want.primary,
      );
      if (renamed) {
        dbIndexes.splice(dbIndexes.indexOf(renamed), 1);
        mismatches.push(
          `${model.name}: ${kind} ${list(columns)} is named "${renamed.name}" in the database, schema.prisma needs "${name}"`,
        );
      } else {
        mismatches.push(`${model.name}: no ${kind} "${name}" on ${list(columns)} in the database`);
      }
    }
    for (const index of dbIndexes) {
      const kind = index.primary ? "primary key" : index.unique ? "unique index" : "index";
      mismatches.push(`${model.name}: ${kind} "${index.name}" on ${list(index.columns)} is not in schema.prisma`);
    }

    // Foreign keys: one for each relation field that holds the reference.
    const dbForeignKeys = db.foreignKeys.filter((f) => f.table === table);
    for (const field of model.fields) {
      if (field.kind !== "object") continue;
      const target = modelByName.get(field.type);
      const from = field.relationFromFields ?? [];
      if (from.length === 0) {
        const other = target?.fields.find((f) => f.relationName === field.relationName && f !== field);
        if (field.isList && other?.isList)
          mismatches.push(
            `${model.name}.${field.name}: implicit many-to-many relations are not checked by this test yet; extend compareSchema`,
          );
        continue;
      }
      if (!target) continue;
      const columns = from.map(columnByField);
      const refColumns = (field.relationToFields ?? []).map((name) => {
        const f = target.fields.find((t) => t.name === name);
        return f ? columnOf(f) : `<unknown field ${name}>`;
      });
      // Prisma's defaults: Restrict for a required relation, SetNull for an optional one; Cascade on update.
      const want = {
        columns,
        refTable: tableOf(target),
        refColumns,
        onDelete: field.relationOnDelete ?? (field.isRequired ? "Restrict" : "SetNull"),
        onUpdate: field.relationOnUpdate ?? "Cascade",
      };
      // The DMMF does not carry @relation(map: …): the default name is all there is to check against.
      const name = defaultConstraintName([table, ...columns], "_fkey");
      const found =
        dbForeignKeys.find((f) => nameMatches(f.name, name, "_fkey")) ??
        dbForeignKeys.find((f) => isDeepStrictEqual(f.columns, columns));
      const where = `${model.name}.${field.name}`;
      if (!found) {
        mismatches.push(`${where}: no foreign key "${name}" ${describeForeignKey(want)} in the database`);
        continue;
      }
      dbForeignKeys.splice(dbForeignKeys.indexOf(found), 1);
      const got = {
        columns: found.columns,
        refTable: found.refTable,
        refColumns: found.refColumns,
        onDelete: found.onDelete,
        onUpdate: found.onUpdate,
      };
      if (!nameMatches(found.name, name, "_fkey"))
        mismatches.push(
          `${where}: the foreign key ${list(columns)} is named "${found.name}" in the database, schema.prisma needs "${name}"`,
        );
      if (!isDeepStrictEqual(got, want))
        mismatches.push(
          `${where}: foreign key "${found.name}" is ${describeForeignKey(got)} in the database, schema.prisma needs ${describeForeignKey(want)}`,
        );
    }
    for (const fk of dbForeignKeys)
      mismatches.push(`${model.name}: foreign key "${fk.name}" ${describeForeignKey(fk)} is not in schema.prisma`);
  }
  return mismatches;
}

function expectedType(field: Field, enums: Map<string, Datamodel["enums"][number]>): string {
  let base: string;
  if (field.kind === "enum") base = `enum ${enums.get(field.type)?.dbName ?? field.type}`;
  else if (field.kind === "unsupported") base = field.type;
  else if (field.nativeType) {
    const [name, args] = field.nativeType;
    base = NATIVE_TYPES[name]?.(args) ?? `<@db.${name} is not known to this test>`;
  } else base = SCALAR_TYPES[field.type] ?? `<${field.type} is not known to this test>`;
  return field.isList ? `${base}[]` : base;
}

function compareDefault(
  field: Field,
  column: DbColumn,
  table: string,
  enums: Map<string, Datamodel["enums"][number]>,
): string | null {
  const actual = column.default === null ? "no default" : `default ${column.default}`;
  const value = field.default;
  if (value === undefined || (isFunctionDefault(value) && CLIENT_SIDE_DEFAULTS.has(value.name))) {
    return column.default === null ? null : `the column has ${actual}, schema.prisma has none in the database`;
  }
  if (isFunctionDefault(value)) {
    switch (value.name) {
      case "now":
        // Prisma writes CURRENT_TIMESTAMP; PostgreSQL keeps now() as now().
        return column.default === "CURRENT_TIMESTAMP" || column.default === "now()"
          ? null
          : `the column has ${actual}, schema.prisma needs CURRENT_TIMESTAMP (now())`;
      case "autoincrement": {
        const sequence = `${table}_${column.name}_seq`;
        const pattern =
          sequence.length <= POSTGRES_MAX_IDENTIFIER
            ? new RegExp(`^nextval\\('"?${escapeRegExp(sequence)}"?'::regclass\\)$`)
            : /^nextval\('.+'::regclass\)$/;
        return column.default !== null && pattern.test(column.default)
          ? null
          : `the column has ${actual}, schema.prisma needs nextval of sequence ${sequence} (autoincrement())`;
      }
      case "dbgenerated": {
        const expression = value.args[0];
        if (expression === undefined)
          return column.default !== null ? null : `the column has no default, schema.prisma needs one (dbgenerated())`;
        const normalize = (sql: string) => sql.replace(/\s+/g, " ").trim();
        return column.default !== null && normalize(column.default) === normalize(String(expression))
          ? null
          : `the column has ${actual}, schema.prisma needs ${expression} (dbgenerated)`;
      }
      default:
        return `default ${value.name}() is not known to this test`;
    }
  }
  // Enum values as the database spells them (@map).
  const inDatabase = (v: unknown) =>
    field.kind === "enum" ? (enums.get(field.type)?.values.find((e) => e.name === v)?.dbName ?? v) : v;
  const wanted = `default ${JSON.stringify(Array.isArray(value) ? value.map(inDatabase) : inDatabase(value))}`;
  if (column.default === null || !("defaultValue" in column))
    return `the column has ${actual}, schema.prisma needs ${wanted}`;
  const matches = field.isList
    ? Array.isArray(value) &&
      Array.isArray(column.defaultValue) &&
      value.length === column.defaultValue.length &&
      value.every((v, i) => sameScalar(field, v, (column.defaultValue as unknown[])[i], enums))
    : sameScalar(field, value, column.defaultValue, enums);
  return matches ? null : `the column has ${actual}, schema.prisma needs ${wanted}`;
}

function isFunctionDefault(
  value: Field["default"],
): value is { readonly name: string; readonly args: readonly (string | number)[] } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "name" in value;
}

/** A literal default from the schema against the database's default, evaluated with to_jsonb. */
function sameScalar(
  field: Field,
  expected: unknown,
  actual: unknown,
  enums: Map<string, Datamodel["enums"][number]>,
): boolean {
  if (field.kind === "enum") {
    const value = enums.get(field.type)?.values.find((v) => v.name === expected);
    return (value?.dbName ?? value?.name) === actual;
  }
  switch (field.type) {
    case "Json":
      return isDeepStrictEqual(typeof expected === "string" ? JSON.parse(expected) : expected, actual);
    case "Int":
    case "BigInt":
    case "Float":
    case "Decimal":
      return Number(expected) === Number(actual);
    case "DateTime":
      return (
        typeof actual === "string" &&
        Date.parse(String(expected)) === Date.parse(/(Z|[+-]\d\d(:\d\d)?)$/.test(actual) ? actual : `${actual}Z`)
      );
    case "Bytes":
      return typeof actual === "string" && `\\x${Buffer.from(String(expected), "base64").toString("hex")}` === actual;
    default:
      return expected === actual;
  }
}

/**
 * Prisma's default constraint names: table and columns joined by "_", then the suffix, the prefix cut
 * short to fit PostgreSQL's 63-byte identifiers.
 */
function defaultConstraintName(parts: readonly string[], suffix: string): string {
  return `${parts.join("_")}${suffix}`;
}

/** Exact for names that fit; for longer ones, any truncation of the prefix that keeps the suffix. */
function nameMatches(actual: string, wanted: string, suffix: string): boolean {
  if (wanted.length <= POSTGRES_MAX_IDENTIFIER) return actual === wanted;
  return (
    actual.length <= POSTGRES_MAX_IDENTIFIER &&
    actual.endsWith(suffix) &&
    wanted.startsWith(actual.slice(0, -suffix.length))
  );
}

function describeIndex(i: {
  columns: readonly (string | null)[];
  descending: readonly boolean[];
  unique: boolean;
  primary: boolean;
  partial: boolean;
  method: string;
}): string {
  const columns = i.columns.map((c, n) => `${c ?? "<expression>"}${i.descending[n] ? " DESC" : ""}`).join(", ");
  return `${i.primary ? "PRIMARY KEY" : i.unique ? "UNIQUE" : "INDEX"} USING ${i.method} (${columns})${i.partial ? " WHERE …" : ""}`;
}

function describeForeignKey(f: {
  columns: readonly string[];
  refTable: string;
  refColumns: readonly string[];
  onDelete: string;
  onUpdate: string;
}): string {
  return `${list(f.columns)} → "${f.refTable}"${list(f.refColumns)} ON DELETE ${f.onDelete} ON UPDATE ${f.onUpdate}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function mismatchReport(mismatches: string[]): string {
  return `prisma/schema.prisma and prisma/migrations disagree (${mismatches.length}):\n${mismatches.map((m) => `  - ${m}`).join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------

let db: TestDatabase;
let session: SqlSession;
const schemaText = fs.readFileSync(SCHEMA_FILE, "utf8");
const datamodel = loadDatamodel(schemaText);
let migrated: DbSchema;
const migrationScripts = fs
  .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort()
  .map((name) => fs.readFileSync(path.join(MIGRATIONS_DIR, name, "migration.sql"), "utf8"));

/**
 * All the migrations, the first one (which, applied everywhere, never changes) altered. A later migration
 * that changes what an alteration touches may change the mismatch it causes: adjust the row then.
 */
function migrationsWithFoundation(edits: readonly Replacement[]): string {
  const [foundation = "", ...rest] = migrationScripts;
  return [edits.reduce(replaceOnce, foundation), ...rest].join("\n");
}

/**
 * schema.prisma with edits inside one block each ("model User", "enum AuthProvider"), so that
 * models added later cannot make a search ambiguous.
 */
function schemaWith(edits: readonly ScopedReplacement[]): string {
  return edits.reduce((text, [block, find, replace]) => {
    const start = text.indexOf(`\n${block} {\n`);
    const end = text.indexOf("\n}\n", start);
    if (start < 0 || end < 0) throw new Error(`no ${block} in schema.prisma`);
    return text.slice(0, start) + replaceOnce(text.slice(start, end + 3), [find, replace]) + text.slice(end + 3);
  }, schemaText);
}

beforeAll(async () => {
  db = await openTestDatabase();
  session = await db.openSession();
  migrated = await readDatabaseSchema(session, "public");
});
afterAll(async () => {
  await session?.close();
  await db?.close();
});

let scratchSchemas = 0;
/** Runs a script in a new schema inside a transaction that is rolled back, and reads what it created. */
async function schemaCreatedBy(script: string): Promise<DbSchema> {
  const schema = `scratch_${++scratchSchemas}`;
  let result: DbSchema | undefined;
  const rollBack = new Error("roll back");
  await session
    .transaction(async (tx) => {
      await tx.exec(`CREATE SCHEMA "${schema}"; SET LOCAL search_path TO "${schema}";`);
      await tx.exec(script);
      result = await readDatabaseSchema(tx, schema);
      throw rollBack;
    })
    .catch((error: unknown) => {
      if (error !== rollBack) throw error;
    });
  return result!;
}

type Replacement = readonly [find: string, replace: string];
type ScopedReplacement = readonly [block: string, find: string, replace: string];

function replaceOnce(text: string, [find, replace]: Replacement): string {
  const at = text.indexOf(find);
  if (at < 0 || text.indexOf(find, at + 1) >= 0)
    throw new Error(`expected exactly one ${JSON.stringify(find)} in the text to alter`);
  return text.slice(0, at) + replace + text.slice(at + find.length);
}

describe("prisma/schema.prisma", () => {
  it("describes exactly the database that prisma/migrations creates", () => {
    const mismatches = compareSchema(datamodel, migrated);
    expect(mismatches, mismatchReport(mismatches)).toEqual([]);
  });

  it("was compared on everything it declares", () => {
    // Guards against a comparison that passes because it looked at nothing.
    expect(migrated.tables.filter((t) => t !== "_prisma_migrations").sort()).toEqual(
      datamodel.models.map((m) => m.dbName ?? m.name).sort(),
    );
    const scalarFields = datamodel.models.flatMap((m) => m.fields.filter((f) => f.kind !== "object"));
    expect(migrated.columns.filter((c) => c.table !== "_prisma_migrations")).toHaveLength(scalarFields.length);
    expect(migrated.indexes.filter((i) => i.table !== "_prisma_migrations")).toHaveLength(datamodel.indexes.length);
    expect(migrated.enums.map((e) => e.name).sort()).toEqual(datamodel.enums.map((e) => e.dbName ?? e.name).sort());
  });
});

describe("the comparison reports", () => {
  // Each row alters schema.prisma and names every mismatch that must then be reported.
  it.each<[string, ScopedReplacement[], string[]]>([
    [
      "a required field the SQL made nullable",
      [["model User", "  name         String\n", "  name         String?\n"]],
      ["User.name: the column is NOT NULL, schema.prisma needs it nullable"],
    ],
    [
      "a unique index the schema does not declare",
      [["model User", "email        String       @unique", "email        String"]],
      ['User: unique index "User_email_key" on (email) is not in schema.prisma'],
    ],
    [
      "a different literal default",
      [["model User", "@default(true)", "@default(false)"]],
      ["User.active: the column has default true, schema.prisma needs default false"],
    ],
    [
      "a different enum default",
      [["model User", "@default(credentials)", "@default(oidc)"]],
      [`User.provider: the column has default 'credentials'::"AuthProvider", schema.prisma needs default "oidc"`],
    ],
    [
      "a client-side default the database does not have",
      [["model User", "@id @default(uuid())", '@id @default(dbgenerated("gen_random_uuid()"))']],
      ["User.id: the column has no default, schema.prisma needs gen_random_uuid() (dbgenerated)"],
    ],
    [
      "a different scalar type",
      [["model AuditChainHead", "  seq  BigInt\n", "  seq  Int\n"]],
      ["AuditChainHead.seq: the column is bigint, schema.prisma needs integer"],
    ],
    [
      "a different native type",
      [
        [
          "model User",
          "createdAt    DateTime     @default(now())",
          "createdAt    DateTime     @default(now()) @db.Timestamptz(3)",
        ],
      ],
      ["User.createdAt: the column is timestamp(3) without time zone, schema.prisma needs timestamp(3) with time zone"],
    ],
    [
      "a list of another type",
      [["model User", "roles        Role[]", "roles        String[]"]],
      ["User.roles: the column is enum Role[], schema.prisma needs text[]"],
    ],
    [
      "an enum value the type lacks",
      [["enum AuthProvider", "  oidc\n", "  oidc\n  saml\n"]],
      ["enum AuthProvider: the database has values [credentials, oidc], schema.prisma [credentials, oidc, saml]"],
    ],
    [
      "a field without a column",
      [
        [
          "model User",
          "  lastSignInAt DateTime?\n",
          '  lastSignInAt DateTime?\n  locale       String @default("en")\n',
        ],
      ],
      ['User.locale: no column "locale" in table "User"'],
    ],
    [
      "a column without a field",
      [["model AuditEvent", "  traceId    String?\n", ""]],
      ['AuditEvent: column "traceId" of table "AuditEvent" is not in the model'],
    ],
    [
      "an index the SQL did not create",
      [["model SignInFailure", "@@index([ip, at])", "@@index([ip, at])\n  @@index([at])"]],
      ['SignInFailure: no index "SignInFailure_at_idx" on (at) in the database'],
    ],
    [
      "an index in another sort order",
      [["model AuditEvent", "@@index([at])", "@@index([at(sort: Desc)])"]],
      [
        'AuditEvent: index "AuditEvent_at_idx" is INDEX USING btree (at) in the database, schema.prisma needs INDEX USING btree (at DESC)',
      ],
    ],
    [
      "an index with another name",
      [
        [
          "model AuditEvent",
          "hash       String   @unique",
          'hash       String   @unique(map: "AuditEvent_hash_unique")',
        ],
      ],
      [
        'AuditEvent: unique index (hash) is named "AuditEvent_hash_key" in the database, schema.prisma needs "AuditEvent_hash_unique"',
      ],
    ],
    [
      "another primary key",
      [
        ["model AuditChainHead", "  id   Int    @id\n", "  id   Int\n"],
        ["model AuditChainHead", "  hash String\n", "  hash String\n\n  @@id([id, seq])\n"],
      ],
      [
        'AuditChainHead: primary key "AuditChainHead_pkey" is PRIMARY KEY USING btree (id) in the database, schema.prisma needs PRIMARY KEY USING btree (id, seq)',
      ],
    ],
    [
      "a model mapped to a table that does not exist",
      [["model AuditChainHead", "  hash String\n", '  hash String\n\n  @@map("audit_chain_head")\n']],
      [
        'table "AuditChainHead": no model in schema.prisma',
        'model AuditChainHead: no table "audit_chain_head" in the database',
      ],
    ],
    [
      "a relation without a foreign key",
      [
        [
          "model AuditEvent",
          "  actorId    String?\n",
          "  actorId    String?\n  actor      User?    @relation(fields: [actorId], references: [id])\n",
        ],
        ["model User", "  lastSignInAt DateTime?\n", "  lastSignInAt DateTime?\n  auditEvents  AuditEvent[]\n"],
      ],
      [
        'AuditEvent.actor: no foreign key "AuditEvent_actorId_fkey" (actorId) → "User"(id) ON DELETE SetNull ON UPDATE Cascade in the database',
      ],
    ],
  ])("in schema.prisma: %s", (_name, edits, expected) => {
    const altered = loadDatamodel(schemaWith(edits));
    expect(compareSchema(altered, migrated)).toEqual(expected);
  });

  // Each row alters a copy of the migrations' SQL (applied to a scratch schema and rolled back).
  it.each<[string, Replacement[], string[]]>([
    ["unaltered: nothing", [], []],
    [
      "a NOT NULL left out",
      [['"name" TEXT NOT NULL,', '"name" TEXT,']],
      ["User.name: the column is nullable, schema.prisma needs NOT NULL"],
    ],
    [
      "a default left out",
      [['"createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP', '"createdAt" TIMESTAMP(3) NOT NULL']],
      ["User.createdAt: the column has no default, schema.prisma needs CURRENT_TIMESTAMP (now())"],
    ],
    [
      "another default",
      [['"active" BOOLEAN NOT NULL DEFAULT true', '"active" BOOLEAN NOT NULL DEFAULT false']],
      ["User.active: the column has default false, schema.prisma needs default true"],
    ],
    [
      "a narrower type",
      [['"id" BIGSERIAL NOT NULL', '"id" SERIAL NOT NULL']],
      ["SignInFailure.id: the column is integer, schema.prisma needs bigint"],
    ],
    [
      "a list of another type",
      [['"roles" "Role"[],', '"roles" TEXT[],']],
      ["User.roles: the column is text[], schema.prisma needs enum Role[]"],
    ],
    [
      "an extra enum value",
      [["'credentials', 'oidc'", "'credentials', 'oidc', 'saml'"]],
      ["enum AuthProvider: the database has values [credentials, oidc, saml], schema.prisma [credentials, oidc]"],
    ],
    [
      "a unique index created as a plain one",
      [['CREATE UNIQUE INDEX "User_externalId_key"', 'CREATE INDEX "User_externalId_key"']],
      [
        'User: unique index "User_externalId_key" is INDEX USING btree (externalId) in the database, schema.prisma needs UNIQUE USING btree (externalId)',
      ],
    ],
    [
      "an index left out",
      [['CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");', ""]],
      ['AuditEvent: no index "AuditEvent_at_idx" on (at) in the database'],
    ],
    [
      "an extra column",
      [
        [
          '"hash" TEXT NOT NULL,\n\n    CONSTRAINT "AuditEvent_pkey"',
          '"hash" TEXT NOT NULL,\n    "extra" INTEGER,\n\n    CONSTRAINT "AuditEvent_pkey"',
        ],
      ],
      ['AuditEvent: column "extra" of table "AuditEvent" is not in the model'],
    ],
    [
      "another primary key",
      [['PRIMARY KEY ("id")\n);\n\n-- CreateIndex', 'PRIMARY KEY ("id", "seq")\n);\n\n-- CreateIndex']],
      [
        'AuditChainHead: primary key "AuditChainHead_pkey" is PRIMARY KEY USING btree (id, seq) in the database, schema.prisma needs PRIMARY KEY USING btree (id)',
      ],
    ],
    [
      "an extra foreign key",
      [
        [
          "-- The chain starts",
          `ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;\n\n-- The chain starts`,
        ],
      ],
      [
        'AuditEvent: foreign key "AuditEvent_actorId_fkey" (actorId) → "User"(id) ON DELETE SetNull ON UPDATE Cascade is not in schema.prisma',
      ],
    ],
    [
      "an extra table and enum",
      [
        [
          "-- The chain starts",
          `CREATE TYPE "Mood" AS ENUM ('calm');\nCREATE TABLE "Orphan" ("id" INTEGER);\n\n-- The chain starts`,
        ],
      ],
      ['type "Mood": an enum that is not in schema.prisma', 'table "Orphan": no model in schema.prisma'],
    ],
  ])("in the migrations: %s", async (_name, edits, expected) => {
    const created = await schemaCreatedBy(migrationsWithFoundation(edits));
    expect(compareSchema(datamodel, created)).toEqual(expected);
  });
});

// The real schema has no relations, @map or native types yet; this one has, with the SQL that
// `prisma migrate diff --from-empty --to-schema` writes for it.
const SYNTHETIC_SCHEMA = `
datasource db {
  provider = "postgresql"
}

enum Kind {
  small
  large @map("LARGE")

  @@map("kind")
}

model Team {
  id      Int      @id @default(autoincrement())
  slug    String   @db.VarChar(40)
  region  String   @default("eu")
  budget  Decimal  @default(12.5) @db.Decimal(10, 2)
  ratio   Float    @default(0.5)
  meta    Json     @default("{\\"a\\": [1, 2]}")
  tags    String[] @default(["x", "y"])
  kinds   Kind[]
  kind    Kind     @default(large)
  born    DateTime @default(dbgenerated("now()")) @db.Timestamptz(6)
  epoch   DateTime @default("2020-01-02T03:04:05.000Z")
  members Member[]

  @@unique([region, slug])
  @@map("teams")
}

model Member {
  teamId  Int     @map("team_id")
  userRef String  @db.Uuid
  nick    String?
  team    Team    @relation(fields: [teamId], references: [id], onDelete: Cascade)
  coachId Int?
  coach   Team?   @relation("coach", fields: [coachId], references: [id])

  @@id([teamId, userRef])
  @@index([nick(sort: Desc)])
}
`.replace("members Member[]", 'members Member[]\n  coached Member[] @relation("coach")');

const SYNTHETIC_SQL = `
CREATE TYPE "kind" AS ENUM ('small', 'LARGE');

CREATE TABLE "teams" (
    "id" SERIAL NOT NULL,
    "slug" VARCHAR(40) NOT NULL,
    "region" TEXT NOT NULL DEFAULT 'eu',
    "budget" DECIMAL(10,2) NOT NULL DEFAULT 12.5,
    "ratio" DOUBLE PRECISION NOT NULL DEFAULT 0.5,
    "meta" JSONB NOT NULL DEFAULT '{"a": [1, 2]}',
    "tags" TEXT[] DEFAULT ARRAY['x', 'y']::TEXT[],
    "kinds" "kind"[],
    "kind" "kind" NOT NULL DEFAULT 'LARGE',
    "born" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    "epoch" TIMESTAMP(3) NOT NULL DEFAULT '2020-01-02 03:04:05 +00:00',

    CONSTRAINT "teams_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "Member" (
    "team_id" INTEGER NOT NULL,
    "userRef" UUID NOT NULL,
    "nick" TEXT,
    "coachId" INTEGER,

    CONSTRAINT "Member_pkey" PRIMARY KEY ("team_id","userRef")
);

CREATE UNIQUE INDEX "teams_region_slug_key" ON "teams"("region", "slug");

CREATE INDEX "Member_nick_idx" ON "Member"("nick" DESC);

ALTER TABLE "Member" ADD CONSTRAINT "Member_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "Member" ADD CONSTRAINT "Member_coachId_fkey" FOREIGN KEY ("coachId") REFERENCES "teams"("id") ON DELETE SET NULL ON UPDATE CASCADE;
`;

describe("the comparison on a schema with relations, @map and native types", () => {
  it.each<[string, Replacement[], string[]]>([
    ["matching SQL: nothing", [], []],
    [
      "another ON DELETE",
      [["ON DELETE CASCADE ON UPDATE CASCADE", "ON DELETE RESTRICT ON UPDATE CASCADE"]],
      [
        'Member.team: foreign key "Member_team_id_fkey" is (team_id) → "teams"(id) ON DELETE Restrict ON UPDATE Cascade in the database, schema.prisma needs (team_id) → "teams"(id) ON DELETE Cascade ON UPDATE Cascade',
      ],
    ],
    [
      "a foreign key left out",
      [
        [
          `ALTER TABLE "Member" ADD CONSTRAINT "Member_coachId_fkey" FOREIGN KEY ("coachId") REFERENCES "teams"("id") ON DELETE SET NULL ON UPDATE CASCADE;`,
          "",
        ],
      ],
      [
        'Member.coach: no foreign key "Member_coachId_fkey" (coachId) → "teams"(id) ON DELETE SetNull ON UPDATE Cascade in the database',
      ],
    ],
    [
      "an unmapped column name",
      [
        ['"team_id" INTEGER NOT NULL,', '"teamId" INTEGER NOT NULL,'],
        ['PRIMARY KEY ("team_id","userRef")', 'PRIMARY KEY ("teamId","userRef")'],
        ['FOREIGN KEY ("team_id")', 'FOREIGN KEY ("teamId")'],
      ],
      [
        'Member.teamId: no column "team_id" in table "Member"',
        'Member: column "teamId" of table "Member" is not in the model',
        'Member: primary key "Member_pkey" is PRIMARY KEY USING btree (teamId, userRef) in the database, schema.prisma needs PRIMARY KEY USING btree (team_id, userRef)',
        'Member.team: foreign key "Member_team_id_fkey" is (teamId) → "teams"(id) ON DELETE Cascade ON UPDATE Cascade in the database, schema.prisma needs (team_id) → "teams"(id) ON DELETE Cascade ON UPDATE Cascade',
      ],
    ],
    [
      "another length",
      [["VARCHAR(40)", "VARCHAR(50)"]],
      ["Team.slug: the column is character varying(50), schema.prisma needs character varying(40)"],
    ],
    [
      "another precision",
      [["DECIMAL(10,2)", "DECIMAL(12,2)"]],
      ["Team.budget: the column is numeric(12,2), schema.prisma needs numeric(10,2)"],
    ],
    [
      "another decimal default",
      [["DEFAULT 12.5,", "DEFAULT 12.25,"]],
      ["Team.budget: the column has default 12.25, schema.prisma needs default 12.5"],
    ],
    [
      "another JSON default",
      [[`'{"a": [1, 2]}'`, `'{"a": [2, 1]}'`]],
      [`Team.meta: the column has default '{"a": [2, 1]}'::jsonb, schema.prisma needs default "{\\"a\\": [1, 2]}"`],
    ],
    [
      "another list default",
      [["ARRAY['x', 'y']", "ARRAY['y', 'x']"]],
      [`Team.tags: the column has default ARRAY['y'::text, 'x'::text], schema.prisma needs default ["x","y"]`],
    ],
    [
      "another date default",
      [["03:04:05 +00:00", "03:04:06 +00:00"]],
      [
        `Team.epoch: the column has default '2020-01-02 03:04:06'::timestamp without time zone, schema.prisma needs default "2020-01-02T03:04:05+00:00"`,
      ],
    ],
    [
      "an enum value not mapped",
      [
        ["('small', 'LARGE')", "('small', 'large')"],
        ["DEFAULT 'LARGE'", "DEFAULT 'large'"],
      ],
      [
        "enum Kind: the database has values [small, large], schema.prisma [small, LARGE]",
        `Team.kind: the column has default 'large'::kind, schema.prisma needs default "LARGE"`,
      ],
    ],
    [
      "a composite unique index in another column order",
      [['ON "teams"("region", "slug")', 'ON "teams"("slug", "region")']],
      [
        'Team: unique index "teams_region_slug_key" is UNIQUE USING btree (slug, region) in the database, schema.prisma needs UNIQUE USING btree (region, slug)',
      ],
    ],
    [
      "a hash index",
      [
        [
          'CREATE INDEX "Member_nick_idx" ON "Member"("nick" DESC)',
          'CREATE INDEX "Member_nick_idx" ON "Member" USING hash ("nick")',
        ],
      ],
      [
        'Member: index "Member_nick_idx" is INDEX USING hash (nick) in the database, schema.prisma needs INDEX USING btree (nick DESC)',
      ],
    ],
  ])("%s", async (_name, edits, expected) => {
    const created = await schemaCreatedBy(edits.reduce(replaceOnce, SYNTHETIC_SQL));
    expect(compareSchema(loadDatamodel(SYNTHETIC_SCHEMA), created)).toEqual(expected);
  });
});
