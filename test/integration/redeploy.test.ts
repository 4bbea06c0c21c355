/**
 * Redeploying an earlier release to production, on a real panel: a rollback to a known good version
 * after a newer one went out. It needs a change request of its own (drafted from the service page,
 * naming the earlier deployment), approvals and the checklist like any production change, and then
 * starts and succeeds through the same path.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, readyForProduction, release, setUpGovernedService } from "../helpers/governance-fixture.ts";
import { startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { refusal } from "../helpers/panel-client.ts";

let t: TestPanel;
const u = {} as Record<"rm" | "approver", TestUser>;
let serviceId: string;
let staging: string;
let production: string;
let ciToken: string;

beforeAll(async () => {
  t = await startTestPanel({ SCHEDULER_INTERVAL: "3600" });
  u.rm = await t.createUser(["release_manager"], "Rita Requester");
  u.approver = await t.createUser(["approver"], "Ann Approver");
  ({ serviceId, staging, production, ciToken } = await setUpGovernedService(t, u.rm));
});

afterAll(async () => {
  await t?.close();
});

async function toProduction(version: string): Promise<string> {
  const { releaseId } = await readyForProduction(t, u, { serviceId, staging, production, ciToken }, version, {
    type: "standard",
    title: `Ship ${version}`,
  });
  const d = await u.rm.client.deployments.start.mutate({ releaseId, environmentId: production });
  expect(await finished(u.rm.client, d.id)).toBe("succeeded");
  return d.id;
}

describe("redeploying an earlier release", () => {
  it("returns production to a known good version through a change request of its own and the same gates", async () => {
    const first = await toProduction("1.0.0");
    await toProduction("2.0.0");
    const old = (await t.prisma.release.findFirstOrThrow({ where: { serviceId, version: "1.0.0" } })).id;

    // The first change request was used: without a new one the redeploy is refused.
    const bare = await refusal(u.rm.client.deployments.start.mutate({ releaseId: old, environmentId: production }));
    expect(bare.status).toBe(412);
    expect(
      (await refusal(u.approver.client.changes.requestRedeploy.mutate({ releaseId: old, environmentId: production })))
        .status,
    ).toBe(403);

    const change = await u.rm.client.changes.requestRedeploy.mutate({
      releaseId: old,
      environmentId: production,
      reason: "2.0.0 corrupts exports",
    });
    expect(change.title).toBe("Redeploy 1.0.0 to production (roll back to a known good version)");
    expect(change.description).toContain(
      `Returns production from 2.0.0 to 1.0.0, which succeeded there in deployment ${first}`,
    );
    expect(change.description).toContain("2.0.0 corrupts exports");
    expect(change.status).toBe("pending");
    const waiting = await refusal(u.rm.client.deployments.start.mutate({ releaseId: old, environmentId: production }));
    expect(waiting.status).toBe(412);
    expect(waiting.message).toBe(
      'The change request "Redeploy 1.0.0 to production (roll back to a known good version)" still needs approval from a approver',
    );
    expect(waiting.field).toBe("changeRequest");

    await u.approver.client.changes.approve.mutate({ id: change.id });
    const d = await u.rm.client.deployments.start.mutate({ releaseId: old, environmentId: production });
    expect(await finished(u.rm.client, d.id)).toBe("succeeded");
    const deployment = await t.prisma.deployment.findUniqueOrThrow({
      where: { id: d.id },
      include: { environment: true },
    });
    expect(deployment.changeRequestId).toBe(change.id);
    expect(deployment.fromReleaseId).toBe(
      (await t.prisma.release.findFirstOrThrow({ where: { serviceId, version: "2.0.0" } })).id,
    );
    expect(
      (await t.prisma.environment.findUniqueOrThrow({ where: { id: production }, include: { liveRelease: true } }))
        .liveRelease?.version,
    ).toBe("1.0.0");
  });

  it("is refused for the live release, for one that never succeeded in production and for another service's", async () => {
    const live = (await t.prisma.release.findFirstOrThrow({ where: { serviceId, version: "1.0.0" } })).id;
    const again = await refusal(
      u.rm.client.changes.requestRedeploy.mutate({ releaseId: live, environmentId: production }),
    );
    expect(again.status).toBe(409);
    expect(again.message).toBe("Release 1.0.0 is already live in production");
    expect(again.field).toBe("releaseId");
    const untried = await release(u.rm.client, serviceId, "3.0.0");
    const never = await refusal(
      u.rm.client.changes.requestRedeploy.mutate({ releaseId: untried, environmentId: production }),
    );
    expect(never.status).toBe(400);
    expect(never.message).toBe(
      "Release 3.0.0 has never succeeded in production, so it is not a known good version to return to",
    );
    expect(never.field).toBe("releaseId");
    const elsewhere = await u.rm.client.services.create.mutate({ name: "Ledger", environments: ["production"] });
    const foreign = await refusal(
      u.rm.client.changes.requestRedeploy.mutate({
        releaseId: await release(u.rm.client, elsewhere.id, "1.0.0"),
        environmentId: production,
      }),
    );
    expect(foreign.status).toBe(400);
    expect(foreign.message).toBe("Release 1.0.0 belongs to another service than Payments");
    expect(foreign.field).toBe("releaseId");
  });
});
