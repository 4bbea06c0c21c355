/**
 * Auditors can change nothing. Over real HTTP, an auditor calls every mutation of the app router and
 * is refused each time (403); afterwards every table holds exactly what it held before, and the audit
 * log holds one more auth.forbidden event per call and nothing else (but the panel's own security
 * alert about so many refusals). The only mutations an auditor
 * may call are their own account's (password, notifications), listed here by name so that a new one
 * fails this test until someone decides. The audit log's REST routes answer GET only; the auditor's
 * pages have no way to send a change.
 */
import fs from "node:fs";
import path from "node:path";
import type { AnyProcedure } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { decide } from "../../server/auth/permissions.ts";
import { createService } from "../../server/releases/catalog.ts";
import { appRouter } from "../../server/trpc/root.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { trpcMutation } from "../helpers/trpc.ts";
import { waitFor } from "../helpers/wait.ts";

/** An auditor's own account, which is theirs to look after: nothing of what they audit. */
const OWN_ACCOUNT = ["me.changePassword", "me.markNotificationsRead", "me.setSubscription"];

const MUTATIONS = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>)
  .filter(([, p]) => p._def.type === "mutation")
  .map(([name]) => name)
  .sort();

let t: TestPanel;
let auditor: TestUser;

/** The panel's own heartbeat (each instance stamps its row every second, whoever calls). */
const HEARTBEATS = ["ReconcilerInstance"];

/** Every table's rows, as a checksum and a count: anything written anywhere changes them. */
async function tables(except: string[] = []): Promise<Record<string, { rows: number; md5: string }>> {
  const names = await t.prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`,
  );
  const result: Record<string, { rows: number; md5: string }> = {};
  for (const { name } of names) {
    if (except.includes(name) || HEARTBEATS.includes(name)) continue;
    const [row] = await t.prisma.$queryRawUnsafe<{ rows: number; md5: string }[]>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(x.t, E'\\n' ORDER BY x.t), '')) AS md5 FROM (SELECT r::text AS t FROM "${name}" r) x`,
    );
    result[name] = row!;
  }
  return result;
}

const headSeq = async () => Number((await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).seq);

beforeAll(async () => {
  t = await startTestPanel();
  auditor = await t.createUser(["auditor"], "Ada Auditor");
  // Something to change, were anything allowed: a service with environments, another person.
  await createService(t.prisma, systemActor(), {
    name: "Ledger",
    description: "",
    environments: ["staging", "production"],
  });
  await t.createUser(["release_manager"]);
});
afterAll(() => t?.close());

describe("an auditor", () => {
  it("may call no mutation but their own account's", () => {
    expect(MUTATIONS.length).toBeGreaterThan(10);
    expect(MUTATIONS.filter((m) => decide(m, ["auditor"]) === "allowed")).toEqual(OWN_ACCOUNT);
  });

  it("is refused every other mutation over HTTP (403), and nothing is written but one auth.forbidden event per call", async () => {
    const refused = MUTATIONS.filter((m) => !OWN_ACCOUNT.includes(m));
    const before = await tables(["AuditEvent", "AuditChainHead"]);
    const head = await headSeq();

    const answers: string[] = [];
    for (const path of refused) {
      const response = await trpcMutation(t.url, path, {}, auditor.cookie);
      answers.push(
        `${path}: ${response.status}${response.status === 403 ? "" : ` (${response.error?.message ?? "allowed"})`}`,
      );
      if (response.status === 403)
        expect(response.error?.message, path).toMatch(
          new RegExp(`^${path.replace(".", "\\.")} is for .*; you are auditor$`),
        );
    }
    expect(answers).toEqual(refused.map((path) => `${path}: 403`));

    // So many refusals in a minute raise the panel's own security alert (server/governance/
    // security-monitor.ts), in the background: wait for it, so that nothing is still being written.
    const alert = `forbidden:${auditor.id}`;
    await waitFor(
      () =>
        t.prisma.auditEvent.findFirst({
          where: { seq: { gt: BigInt(head) }, action: "security.alert", entityId: alert },
        }),
      "the security alert",
    );
    expect(await tables(["AuditEvent", "AuditChainHead"])).toEqual(before);
    const events = await t.prisma.auditEvent.findMany({
      where: { seq: { gt: BigInt(head) } },
      orderBy: { seq: "asc" },
    });
    const [alerts, others] = [
      events.filter((e) => e.action === "security.alert"),
      events.filter((e) => e.action !== "security.alert"),
    ];
    expect(
      others.map((e) => ({
        action: e.action,
        entityType: e.entityType,
        entityId: e.entityId,
        actorId: e.actorId,
        roles: e.actorRoles,
      })),
    ).toEqual(
      refused.map((path) => ({
        action: "auth.forbidden",
        entityType: "Procedure",
        entityId: path,
        actorId: auditor.id,
        roles: ["auditor"],
      })),
    );
    // The alert is the panel's, about the auditor: not a change the auditor made.
    expect(alerts.map((e) => ({ actorId: e.actorId, actorEmail: e.actorEmail, entityId: e.entityId }))).toEqual(
      alerts.map(() => ({ actorId: null, actorEmail: "system", entityId: alert })),
    );
    expect(await headSeq()).toBe(head + events.length);
  });
});

describe("the audit log's REST routes", () => {
  const ROUTES = ["/api/v1/audit/export", "/api/v1/audit/verify"];

  it("answer GET", async () => {
    for (const route of ROUTES) {
      const response = await fetch(`${t.url}${route}`, { headers: { Cookie: auditor.cookie } });
      expect(response.status, route).toBe(200);
      await response.text();
    }
    // The export is audited once it has been sent.
    await waitFor(
      () => t.prisma.auditEvent.findFirst({ where: { action: "audit.exported", actorId: auditor.id } }),
      "the export's audit event",
    );
  });

  it("answer 405 to every other method, signed in or not, and write nothing", async () => {
    const before = await tables();
    for (const route of ROUTES) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]) {
        for (const cookie of [auditor.cookie, undefined]) {
          const response = await fetch(`${t.url}${route}?format=csv`, {
            method,
            headers: { ...(cookie ? { Cookie: cookie } : {}), "Content-Type": "application/json" },
            body: ["GET", "HEAD"].includes(method) ? undefined : "{}",
          });
          expect(response.status, `${method} ${route}${cookie ? " as an auditor" : ""}`).toBe(405);
          expect(response.headers.get("allow")).toBe("GET");
          if (method !== "HEAD")
            expect(await response.json()).toEqual({ error: `${route} is read-only: use GET (got ${method})` });
        }
      }
    }
    expect(await tables()).toEqual(before);
  });
});

describe("the auditor's pages", () => {
  it("have no way to send a change: no mutation, no form posted anywhere", () => {
    const root = path.resolve(__dirname, "../..");
    const files = ["app/(dashboard)/audit", "app/(dashboard)/services/[id]/history"].flatMap((dir) =>
      fs.readdirSync(path.join(root, dir)).map((f) => path.join(root, dir, f)),
    );
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const source = fs.readFileSync(file, "utf8");
      expect(source, file).not.toMatch(
        /useMutation|mutationOptions|mutate\(|method:\s*["'](POST|PUT|PATCH|DELETE)|action=/,
      );
    }
  });
});
