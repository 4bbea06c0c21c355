/**
 * The rows behind the reconciler's leases: each instance announces itself (ReconcilerInstance,
 * heartbeat every second), renews the leases it still drives, hands back what is over its fair
 * share, and claims free ones up to it — rollbacks first. Every statement is guarded by the lease
 * owner, so two instances can never both hold a deployment.
 *
 * A lease or heartbeat of a process on this host that no longer exists (a killed panel) is taken
 * over at once rather than after it expires; other hosts' are left to expire.
 */
import os from "node:os";
import type { PrismaClient } from "../db/generated/client.ts";
import type { DeploymentStatus } from "./state-machine.ts";

export interface LeaseRow {
  id: string;
  status: DeploymentStatus;
}

export class LeaseRows {
  private readonly host = os.hostname();

  constructor(
    private readonly prisma: PrismaClient,
    readonly instanceId: string,
    private readonly leaseMs: number,
  ) {}

  /** Writes this instance's heartbeat, drops instances that stopped beating; how many are live (this one included). */
  async heartbeat(): Promise<number> {
    const seconds = this.leaseMs / 1000;
    await this.prisma.$executeRaw`
      INSERT INTO "ReconcilerInstance" ("id", "host", "pid", "startedAt", "heartbeatAt")
      VALUES (${this.instanceId}, ${this.host}, ${process.pid}, now(), now())
      ON CONFLICT ("id") DO UPDATE SET "heartbeatAt" = now()`;
    const dead = await this.deadOnThisHost();
    await this.prisma.$executeRaw`
      DELETE FROM "ReconcilerInstance"
      WHERE "heartbeatAt" < now() - make_interval(secs => ${seconds}) OR "id" = ANY(${dead}::text[])`;
    const [row] = await this.prisma.$queryRaw<
      { live: number }[]
    >`SELECT count(*)::int AS live FROM "ReconcilerInstance"`;
    return Math.max(1, row?.live ?? 1);
  }

  async activeDeployments(): Promise<number> {
    return this.prisma.deployment.count({ where: { activeEnvironmentId: { not: null } } });
  }

  /** Extends the leases this instance still holds among `ids`; the ones it kept, with their status. */
  async renew(ids: string[]): Promise<LeaseRow[]> {
    if (ids.length === 0) return [];
    return this.prisma.$queryRaw<LeaseRow[]>`
      UPDATE "Deployment"
      SET "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseMs / 1000})
      WHERE "id" = ANY(${ids}::text[]) AND "leaseOwner" = ${this.instanceId} AND "activeEnvironmentId" IS NOT NULL
      RETURNING "id", "status"::text AS "status"`;
  }

  /** Gives leases back (another instance claims them at its next beat). */
  async handBack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.prisma.$executeRaw`
      UPDATE "Deployment" SET "leaseOwner" = NULL, "leaseExpiresAt" = NULL
      WHERE "id" = ANY(${ids}::text[]) AND "leaseOwner" = ${this.instanceId}`;
  }

  /**
   * Claims up to `limit` active deployments nobody holds (free, expired, or held by a dead process
   * on this host), rollbacks first, then the oldest. `exclude`: deployments this instance must not
   * take back yet (a pass of its own is still stuck on them).
   */
  async claim(limit: number, exclude: string[]): Promise<LeaseRow[]> {
    if (limit <= 0) return [];
    const dead = await this.deadOnThisHost();
    return this.prisma.$queryRaw<LeaseRow[]>`
      WITH free AS (
        SELECT "id" FROM "Deployment"
        WHERE "activeEnvironmentId" IS NOT NULL
          AND ("leaseOwner" IS NULL OR "leaseExpiresAt" < now() OR "leaseOwner" = ANY(${dead}::text[]))
          AND NOT ("id" = ANY(${exclude}::text[]))
        ORDER BY ("status" = 'rolling_back') DESC, "startedAt", "id"
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE "Deployment" d
      SET "leaseOwner" = ${this.instanceId}, "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseMs / 1000})
      FROM free WHERE d."id" = free."id"
      RETURNING d."id", d."status"::text AS "status"`;
  }

  /** On a clean stop: every lease back, and the heartbeat row gone, so the others rebalance at once. */
  async leave(): Promise<void> {
    await this.prisma.deployment.updateMany({
      where: { leaseOwner: this.instanceId },
      data: { leaseOwner: null, leaseExpiresAt: null },
    });
    await this.prisma.reconcilerInstance.deleteMany({ where: { id: this.instanceId } });
  }

  /** Instances and lease owners on this host whose process no longer exists. */
  private async deadOnThisHost(): Promise<string[]> {
    const prefix = `${this.host}#`;
    const [owners, instances] = await Promise.all([
      this.prisma.deployment.findMany({
        where: { activeEnvironmentId: { not: null }, leaseOwner: { startsWith: prefix, not: this.instanceId } },
        select: { leaseOwner: true },
        distinct: ["leaseOwner"],
      }),
      this.prisma.reconcilerInstance.findMany({
        where: { host: this.host, id: { not: this.instanceId } },
        select: { id: true },
      }),
    ]);
    const candidates = new Set([...owners.map((o) => o.leaseOwner!), ...instances.map((i) => i.id)]);
    return [...candidates].filter((owner) => !processExists(Number(owner.split("#")[1])));
  }
}

function processExists(pid: number): boolean {
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
