/** A scratch PostgreSQL database for a benchmark, created on TEST_DATABASE_URL's server and dropped afterwards. */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { testEnvironment } from "../server/config.ts";

export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: "greenlight-bench" });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs `fn` with the URL of a new, empty database; drops it afterwards. */
export async function withScratchPostgres<T>(
  prefix: string,
  fn: (url: string) => Promise<T>,
  adminUrl = testEnvironment().databaseUrl,
): Promise<T> {
  if (!adminUrl)
    throw new Error(
      `This benchmark needs PostgreSQL: set TEST_DATABASE_URL (e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test). It creates a scratch database on that server and drops it afterwards.`,
    );
  const name = `greenlight_bench_${prefix}_${randomBytes(5).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}
