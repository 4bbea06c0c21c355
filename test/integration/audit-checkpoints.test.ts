/**
 * Signed checkpoints of the audit chain outside the database (issue 10, Medium 6b). The panel signs
 * "the chain was at event S with hash H" every N events into a file under its data directory (and a
 * webhook); someone with the database's credentials cuts the newest events and moves the chain head
 * back, which the chain alone cannot show; verification names the cut since the checkpoint, the panel
 * stops vouching for the chain and tells administrators.
 */
import { createPublicKey, verify as verifySignature } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { CHECKPOINT_PUBLIC_KEY_FILE } from "../../server/audit/checkpoint-key.ts";
import { checkpointMessage, describeCheckpointTime, type SignedCheckpoint } from "../../server/audit/checkpoint.ts";
import { recordAudit } from "../../server/audit/record.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { waitFor } from "../helpers/wait.ts";

let t: TestPanel;
let auditor: TestUser;
let admin: TestUser;
let webhook: http.Server;
const delivered: { key: string | undefined; body: SignedCheckpoint }[] = [];

const EVERY = 5;

async function append(count: number): Promise<number> {
  let seq = 0;
  for (let i = 0; i < count; i++)
    seq = (
      await t.prisma.$transaction((tx) =>
        recordAudit(tx, systemActor(), { action: "checkpoint.test", entityType: "Thing", entityId: String(i) }),
      )
    ).seq;
  return seq;
}

function checkpointsInFile(): SignedCheckpoint[] {
  const file = t.panel.services.config.auditCheckpoints.file;
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SignedCheckpoint);
}

async function verifyOverHttp() {
  const response = await fetch(`${t.url}/api/v1/audit/verify`, { headers: { Cookie: auditor.cookie } });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    status: string;
    breaks?: { seq: number; kind: string; detail: string }[];
    checkpoint: SignedCheckpoint | null;
  };
}

beforeAll(async () => {
  webhook = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      delivered.push({
        key: req.headers["idempotency-key"] as string | undefined,
        body: JSON.parse(body) as SignedCheckpoint,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  t = await startTestPanel({
    AUDIT_CHECKPOINT_EVENTS: String(EVERY),
    AUDIT_CHECKPOINT_INTERVAL: "1h",
    AUDIT_CHECKPOINT_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/checkpoints`,
  });
  auditor = await t.createUser(["auditor"]);
  admin = await t.createUser(["admin"]);
});
afterAll(async () => {
  await t?.close();
  webhook?.close();
});

describe("audit checkpoints", () => {
  it("are written on their own every N events, signed with a key outside the database that anyone can check with the public key", async () => {
    const seq = await append(EVERY);
    const written = await waitFor(
      () => checkpointsInFile().find((c) => c.seq >= seq),
      "a checkpoint of the newest event",
      20_000,
    );
    const head = await t.prisma.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    expect(written.hash).toBe(
      (await t.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(written.seq) } })).hash,
    );
    expect(Number(head.seq)).toBeGreaterThanOrEqual(written.seq);

    // Offline, with nothing but the public key the panel left in its data directory.
    const publicKey = createPublicKey(
      fs.readFileSync(path.join(t.panel.services.config.dataDir, CHECKPOINT_PUBLIC_KEY_FILE)),
    );
    expect(verifySignature(null, checkpointMessage(written), publicKey, Buffer.from(written.signature, "base64"))).toBe(
      true,
    );
    expect(fs.statSync(t.panel.services.config.auditCheckpoints.file).mode & 0o777).toBe(0o600);

    // The webhook got it too, with a key naming it.
    const sent = await waitFor(
      () => delivered.find((d) => d.body.seq === written.seq),
      "the checkpoint at the webhook",
    );
    expect(sent).toEqual({ key: `audit-checkpoint/${written.seq}`, body: written });

    // And verification compares the chain with it.
    expect(await verifyOverHttp()).toMatchObject({ status: "intact", checkpoint: { seq: expect.any(Number) } });
  });

  it("name the events cut from the newest end, with the chain head moved back, which the chain alone cannot see", async () => {
    await append(2);
    const checkpoint = (await t.panel.services.auditCheckpoints.tick(new Date(Date.now() + 2 * 3600_000)))!;
    expect(checkpoint).not.toBeNull();
    const cut = checkpoint.seq - 2;
    const kept = await t.prisma.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(cut - 1) } });

    // What anyone holding the owner's credentials can do in the database.
    await t.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`);
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditChainHead" DISABLE TRIGGER USER`);
      await tx.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE seq >= ${cut}`);
      await tx.$executeRawUnsafe(`UPDATE "AuditChainHead" SET seq = ${kept.seq}, hash = '${kept.hash}' WHERE id = 1`);
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditChainHead" ENABLE TRIGGER USER`);
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`);
    });

    // The chain on its own looks whole.
    expect(await verifyAuditChain(t.prisma)).toMatchObject({ ok: true });
    // Against the checkpoint, the cut is named.
    const result = await verifyOverHttp();
    expect(result.status).toBe("broken");
    expect(result.breaks).toEqual([
      {
        seq: cut,
        kind: "missing",
        detail: `events ${cut}–${checkpoint.seq} are missing since the checkpoint of ${describeCheckpointTime(checkpoint)}, which recorded event ${checkpoint.seq}`,
      },
    ]);

    // The panel does not vouch for the cut chain, and tells administrators.
    const linesBefore = checkpointsInFile().length;
    expect(await t.panel.services.auditCheckpoints.tick(new Date(Date.now() + 4 * 3600_000))).toBeNull();
    expect(checkpointsInFile()).toHaveLength(linesBefore);
    const notice = await waitFor(
      () => t.prisma.notification.findFirst({ where: { userId: admin.id, kind: "audit.chain_mismatch" } }),
      "the administrators' notice",
    );
    expect(notice.body).toContain(`events ${cut}–${checkpoint.seq} are missing`);
  });

  it("name the checkpoint's event as replaced when the chain is cut and appended again", async () => {
    const { checkpoint } = await verifyOverHttp();
    // The panel goes on appending from the moved head: new events take the cut events' numbers.
    await append(4);
    const result = await verifyOverHttp();
    expect(result.status).toBe("broken");
    expect(result.breaks).toEqual([
      {
        seq: checkpoint!.seq,
        kind: "relinked",
        detail: `event ${checkpoint!.seq} is not the one the checkpoint of ${describeCheckpointTime(checkpoint!)} recorded: the chain was cut and rewritten since`,
      },
    ]);
  });
});
