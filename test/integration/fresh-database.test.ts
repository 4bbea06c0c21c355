/**
 * A database migrated in the same process that then uses it — the embedded default's first start.
 * PGlite learns array types once, when it opens; the enum arrays (Role[]) that migrations create
 * must still be sent as arrays afterwards, not as "cto,oncall" text.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrateDatabase, openDatabase, type Database } from "../../server/db/open.ts";
import { createPostgresDatabase, dropPostgresDatabase, testBackend } from "../helpers/database.ts";

let db: Database;
let url: string | null = null;
beforeAll(async () => {
  if (testBackend() === "postgres") {
    url = await createPostgresDatabase();
    db = await openDatabase({ kind: "postgres", url });
  } else {
    db = await openDatabase({ kind: "pglite", dataDir: null });
  }
  await migrateDatabase(db);
});
afterAll(async () => {
  await db?.close();
  if (url) await dropPostgresDatabase(url);
});

it("filters on enum arrays right after migrating", async () => {
  await db.prisma.user.createMany({
    data: [
      { email: "cto@example.test", name: "C", roles: ["cto"] },
      { email: "rm@example.test", name: "R", roles: ["release_manager", "approver"] },
    ],
  });
  expect(await db.prisma.user.count({ where: { roles: { hasSome: ["cto", "oncall"] } } })).toBe(1);
  expect(await db.prisma.user.count({ where: { roles: { has: "approver" } } })).toBe(1);
  expect(await db.prisma.user.count({ where: { roles: { hasEvery: ["release_manager", "approver"] } } })).toBe(1);
});

// The embedded database's buffer pool is set where it opens (server/db/open.ts), not taken from the
// 128 MB initdb wrote: setting that pool up was 0.3–0.4 CPU-s of every start.
it.skipIf(testBackend() === "postgres")("the embedded database starts with its own, smaller buffer pool", async () => {
  const session = await db.openSession();
  try {
    expect(await session.query<{ shared_buffers: string }>("SHOW shared_buffers")).toEqual([
      { shared_buffers: "32MB" },
    ]);
  } finally {
    await session.close();
  }
});
