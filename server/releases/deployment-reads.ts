/**
 * The deployment page's read, shared by everyone watching the same deployment. A page refetches its
 * deployment every few seconds and whenever the deployment changes, and many people watch the same
 * one: read whole, that is nine queries a refresh for an answer that is mostly what the last reader
 * got. So the stored part is kept per deployment under a fingerprint of everything it is made of, and
 * every read first asks the database for that fingerprint (one indexed statement). The database, not
 * this instance's memory, says whether anything changed, so a write by another panel instance is seen
 * as soon as it commits. Concurrent readers of a changed deployment share one read.
 *
 * The invariant: what is kept under a fingerprint was read after that fingerprint was seen, so it is
 * never older than what the reader asked about; a mismatch only costs a read.
 */
import { LRUCache } from "lru-cache";
import type { PrismaClient } from "../db/generated/client.ts";
import { notFound } from "../errors.ts";
import { storedDeploymentDetail, withCurrentSplit, type StoredDeploymentDetail } from "./queries.ts";

/** Deployments kept: the active ones and the recently opened, far more than the pages open at once. */
const DEFAULT_CAPACITY = 500;

interface Kept {
  fingerprint: string;
  detail: Promise<StoredDeploymentDetail>;
}

export class DeploymentReads {
  /** The most recently read are kept; past the capacity the least recently read goes. */
  private readonly kept: LRUCache<string, Kept>;

  constructor(
    private readonly prisma: PrismaClient,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.kept = new LRUCache({ max: capacity });
  }

  async get(id: string) {
    const fingerprint = await deploymentFingerprint(this.prisma, id);
    if (fingerprint === null) throw notFound(`Deployment ${id}`);
    let entry = this.kept.get(id);
    if (entry?.fingerprint !== fingerprint) {
      const fresh: Kept = { fingerprint, detail: storedDeploymentDetail(this.prisma, id) };
      // A failed read is not kept: the next reader tries again.
      fresh.detail.catch(() => this.kept.peek(id) === fresh && this.kept.delete(id));
      entry = fresh;
      this.kept.set(id, entry);
    }
    return withCurrentSplit(this.prisma, await entry.detail);
  }

  /** How many deployments are kept (for tests and metrics). */
  get size(): number {
    return this.kept.size;
  }
}

/**
 * One text that changes whenever anything the stored detail is made of changes: the deployment row
 * (every Prisma write sets updatedAt; the reconciler's also bump version), its environment and the
 * person who started it (both have updatedAt; releases and services are never edited), and its
 * timeline, gate results and smoke results (appended, or upserted with a new time). Null when there
 * is no such deployment.
 */
export async function deploymentFingerprint(prisma: PrismaClient, id: string): Promise<string | null> {
  const [row] = await prisma.$queryRaw<{ fingerprint: string }[]>`
    SELECT concat_ws('|',
      d."version", d."updatedAt"::text, md5(coalesce(d."statusDetail", '')), e."updatedAt"::text,
      u."updatedAt"::text,
      (SELECT max(ev."seq") FROM "DeploymentEvent" ev WHERE ev."deploymentId" = d."id"),
      (SELECT count(*) || ':' || coalesce(max(g."at")::text, '') FROM "GateResult" g WHERE g."deploymentId" = d."id"),
      (SELECT count(*) || ':' || coalesce(max(sr."id")::text, '') FROM "SmokeCheckResult" sr WHERE sr."deploymentId" = d."id")
    ) AS "fingerprint"
    FROM "Deployment" d
    JOIN "Environment" e ON e."id" = d."environmentId"
    LEFT JOIN "User" u ON u."id" = d."startedById"
    WHERE d."id" = ${id}`;
  return row?.fingerprint ?? null;
}
