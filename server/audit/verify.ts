/** Reads the audit log in sequence order and reports whether the hash chain is intact. */
import type { PrismaClient } from "../db/generated/client.ts";
import { ChainChecker, GENESIS_HASH, type ChainBreak } from "./chain.ts";

export type ChainVerification =
  | { ok: true; checked: number; lastSeq: number; verifiedAt: Date }
  | { ok: false; checked: number; firstBrokenSeq: number; breaks: ChainBreak[]; verifiedAt: Date };

const BATCH = 2000;

export async function verifyAuditChain(prisma: PrismaClient): Promise<ChainVerification> {
  const start = { seq: 0, hash: GENESIS_HASH };
  const checker = new ChainChecker(start);
  let after = BigInt(start.seq);
  let lastSeq = start.seq;
  for (;;) {
    const rows = await prisma.auditEvent.findMany({ where: { seq: { gt: after } }, orderBy: { seq: "asc" }, take: BATCH });
    for (const row of rows) {
      checker.check({ ...row, seq: Number(row.seq) });
      lastSeq = Number(row.seq);
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1]!.seq;
  }
  const head = await prisma.auditChainHead.findUnique({ where: { id: 1 } });
  checker.finish(Number(head?.seq ?? 0), head?.hash);
  const verifiedAt = new Date();
  if (checker.breaks.length === 0) return { ok: true, checked: checker.checked, lastSeq, verifiedAt };
  const firstBrokenSeq = Math.min(...checker.breaks.map((b) => b.seq));
  return { ok: false, checked: checker.checked, firstBrokenSeq, breaks: [...checker.breaks].sort((a, b) => a.seq - b.seq), verifiedAt };
}
