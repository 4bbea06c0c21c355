/**
 * A minimal SQL session over either PGlite or PostgreSQL, for the few things Prisma should not do:
 * applying migration scripts (many statements at once) and holding session-level advisory locks.
 */
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface SqlQueryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements (no parameters). */
  exec(script: string): Promise<void>;
}

export interface SqlSession extends SqlQueryable {
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function pgliteSession(db: PGlite): SqlSession {
  return {
    async query(sql, params) {
      return (await db.query(sql, params)).rows as never;
    },
    async exec(script) {
      await db.exec(script);
    },
    transaction(fn) {
      return db.transaction((tx) =>
        fn({
          async query(sql, params) {
            return (await tx.query(sql, params)).rows as never;
          },
          async exec(script) {
            await tx.exec(script);
          },
        }),
      );
    },
    // The PGlite instance is owned by the database handle, which closes it.
    async close() {},
  };
}

export async function postgresSession(connectionString: string): Promise<SqlSession> {
  const client = new pg.Client({ connectionString, application_name: "greenlight-migrate" });
  await client.connect();
  const queryable: SqlQueryable = {
    async query(sql, params) {
      return (await client.query(sql, params as unknown[])).rows as never;
    },
    async exec(script) {
      await client.query(script);
    },
  };
  return {
    ...queryable,
    async transaction(fn) {
      await client.query("BEGIN");
      try {
        const result = await fn(queryable);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    },
    async close() {
      await client.end();
    },
  };
}
