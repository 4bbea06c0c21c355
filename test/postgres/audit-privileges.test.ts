/**
 * The panel running as a PostgreSQL role of its own, with the grants of docs/postgresql-roles.sql
 * (README, "PostgreSQL"), on a database its owner migrated: it starts, serves and audits, purges what
 * is past retention, and cannot do what the attacker did with its credentials (switch on the
 * retention hatch, delete the newest events, move the chain head back), nor disable the guards.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendSyntheticEvents } from "../../bench/audit.ts";
import { systemActor } from "../../server/audit/actor.ts";
import { recordAudit } from "../../server/audit/record.ts";
import { purgeAuditEvents, RETENTION_DAYS } from "../../server/audit/retention.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { migrateDatabase, openDatabase, type Database } from "../../server/db/open.ts";
import type { Panel } from "../../server/panel.ts";
import { createPostgresDatabase, dropPostgresDatabase, testBackend } from "../helpers/database.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { rejection } from "../helpers/rejection.ts";

const DAY = 24 * 3600 * 1000;
const ROLES_SQL = path.resolve(__dirname, "../../docs/postgresql-roles.sql");

describe.runIf(testBackend() === "postgres")("the panel as its own PostgreSQL role", () => {
  let url: string;
  let owner: Database;
  let panel: Panel;
  let role: string;
  let t: TestPanel;
  const OLD = 5;

  beforeAll(async () => {
    url = await createPostgresDatabase();
    owner = await openDatabase({ kind: "postgres", url });
    await migrateDatabase(owner);
    await appendSyntheticEvents(owner.prisma, OLD, {
      from: new Date(Date.now() - 3 * 365 * DAY),
      to: new Date(Date.now() - 2.5 * 365 * DAY),
    });

    // The README's grants, as written, for a role of this test's own (roles are cluster-wide).
    role = `greenlight_app_${randomBytes(4).toString("hex")}`;
    const password = randomBytes(12).toString("hex");
    const script = fs
      .readFileSync(ROLES_SQL, "utf8")
      .replaceAll("greenlight_app", role)
      .replace("'change-me'", `'${password}'`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(script);
    } finally {
      await client.end();
    }

    const appUrl = new URL(url);
    appUrl.username = role;
    appUrl.password = password;
    t = await startTestPanel({ DATABASE_URL: appUrl.toString(), LOG_LEVEL: "warn" }, { configuredDatabase: true });
    panel = t.panel;
  });

  afterAll(async () => {
    await t?.close();
    await owner?.close();
    if (url) await dropPostgresDatabase(url);
    if (role) {
      const client = new pg.Client({ connectionString: url.replace(/\/[^/]*$/, "/postgres") });
      await client.connect();
      await client.query(`DROP ROLE IF EXISTS "${role}"`).finally(() => client.end());
    }
  });

  it("starts on the migrated database, serves, and appends to the audit log", async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    const written = await panel.services.prisma.$transaction((tx) =>
      recordAudit(tx, systemActor(), { action: "role.check", entityType: "Thing" }),
    );
    expect(written.seq).toBeGreaterThan(OLD);
    const [who] = await panel.services.prisma.$queryRaw<{ user: string }[]>`SELECT current_user AS "user"`;
    expect(who!.user).toBe(role);
  });

  it("cannot switch on the retention hatch and delete the newest events, nor move the chain head back", async () => {
    const app = panel.services.prisma;
    const head = await app.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    const previous = await app.auditEvent.findUniqueOrThrow({ where: { seq: head.seq - 1n } });
    expect(
      await rejection(
        app.$transaction(async (tx) => {
          await tx.$executeRawUnsafe(`SET LOCAL greenlight.audit_retention = 'on'`);
          await tx.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq >= ${head.seq}`);
        }),
      ),
    ).toMatch(/permission denied/);
    expect(
      await rejection(
        app.$executeRawUnsafe(
          `UPDATE "AuditChainHead" SET seq = ${previous.seq}, hash = '${previous.hash}' WHERE id = 1`,
        ),
      ),
    ).toMatch(/only moves forward/);
    expect(
      await rejection(
        app.$executeRawUnsafe(`UPDATE "AuditChainHead" SET seq = ${head.seq + 5n}, hash = 'forged' WHERE id = 1`),
      ),
    ).toMatch(/must name a stored event/);
    expect(await rejection(app.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`))).toMatch(
      /must be owner/,
    );
    expect(await rejection(app.$executeRawUnsafe(`ALTER TABLE "AuditChainHead" DISABLE TRIGGER USER`))).toMatch(
      /must be owner/,
    );
    expect(
      await rejection(app.$executeRawUnsafe(`UPDATE "AuditEvent" SET action = 'forged' WHERE seq = ${head.seq}`)),
    ).toMatch(/permission denied/);
    expect(await rejection(app.$executeRawUnsafe(`TRUNCATE "AuditEvent"`))).toMatch(/permission denied/);
    expect(await app.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).toEqual(head);
  });

  it("cannot use the purge function on events within retention", async () => {
    const app = panel.services.prisma;
    const head = await app.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    expect(
      await rejection(app.$queryRawUnsafe(`SELECT greenlight_purge_audit_events(${head.seq}, now()::timestamp)`)),
    ).toMatch(/kept for 730 days/);
    expect(
      await rejection(
        app.$queryRawUnsafe(`SELECT greenlight_purge_audit_events(${head.seq}, '2000-01-01'::timestamp)`),
      ),
    ).toMatch(/event 1 is not older than/);
    expect(
      await rejection(
        app.$queryRawUnsafe(
          `SELECT greenlight_purge_audit_events(${head.seq}, (now() - interval '731 days')::timestamp)`,
        ),
      ),
    ).toMatch(new RegExp(`event ${OLD + 1} is not older than`));
    expect(await app.auditEvent.count()).toBe(Number(head.seq));
  });

  it("purges what is past retention through the owner's function, and the chain verifies", async () => {
    const result = await purgeAuditEvents(panel.services.prisma, {
      olderThan: new Date(Date.now() - RETENTION_DAYS * DAY),
    });
    expect(result).toMatchObject({ purged: OLD, anchor: { seq: OLD } });
    expect(await verifyAuditChain(panel.services.prisma)).toMatchObject({ ok: true, anchor: { seq: OLD } });
  });
});
