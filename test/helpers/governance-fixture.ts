/**
 * The service the governance tests share: staging and production under a fast policy, the traffic
 * generator on (gates pass only on enough requests), and a CI token that posts checklist evidence.
 * One copy, so the governance, scheduling, redeploy and emergency tests set up the same service.
 */
import { expect } from "vitest";
import { DEFAULT_GATES, type Policy } from "../../server/releases/policy.ts";
import type { TestPanel, TestUser } from "./panel.ts";
import type { PanelClient } from "./panel-client.ts";
import { waitFor } from "./wait.ts";

/** Two steps with 1 s bakes and no smoke tests: a deployment finishes in seconds. */
export const FAST_GOVERNANCE_POLICY: Policy = {
  steps: [10, 100],
  bakeSeconds: 1,
  gates: {
    ...DEFAULT_GATES,
    minRequests: 3,
    errorRate: { marginPp: 0.1, maxPercent: 0.5 },
    latency: { ...DEFAULT_GATES.latency, maxP95Ms: 1000 },
  },
  validationSeconds: 1,
  scaleDownDelaySeconds: 600,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [],
};

export interface GovernedService {
  serviceId: string;
  staging: string;
  production: string;
  /** An API token with evidence:write only, named "CI". */
  ciToken: string;
}

/** Creates the service as `rm`; "Payments" unless a test names it otherwise. */
export async function setUpGovernedService(t: TestPanel, rm: TestUser, name = "Payments"): Promise<GovernedService> {
  const serviceId = (await rm.client.services.create.mutate({ name, environments: ["staging", "production"] })).id;
  const envs = await t.prisma.environment.findMany({ where: { serviceId } });
  const staging = envs.find((e) => e.name === "staging")!.id;
  const production = envs.find((e) => e.name === "production")!.id;
  for (const environmentId of [staging, production]) {
    await rm.client.environments.updatePolicy.mutate({ environmentId, policy: FAST_GOVERNANCE_POLICY });
    await rm.client.environments.setTrafficGenerator.mutate({ environmentId, enabled: true, rate: 30 });
  }
  const { token: ciToken } = await rm.client.tokens.create.mutate({
    serviceId,
    name: "CI",
    scopes: ["evidence:write"],
    expiresInDays: 30,
  });
  return { serviceId, staging, production, ciToken };
}

/** The deployment's final status, once it has one. */
export async function finished(client: PanelClient, id: string): Promise<string> {
  return waitFor(
    async () => {
      const d = await client.deployments.get.query({ id });
      return ["succeeded", "rolled_back", "failed", "aborted"].includes(d.status) ? d.status : undefined;
    },
    "the deployment to finish",
    60_000,
  );
}

/** A new release of `version` (artifact demo:<version>); its id. */
export async function release(client: PanelClient, serviceId: string, version: string): Promise<string> {
  return (await client.releases.create.mutate({ serviceId, version, artifact: `demo:${version}` })).id;
}

/** A new release deployed to staging, which must succeed: production's promotion order then holds. Its id. */
export async function throughStaging(
  client: PanelClient,
  service: Pick<GovernedService, "serviceId" | "staging">,
  version: string,
): Promise<string> {
  const releaseId = await release(client, service.serviceId, version);
  const d = await client.deployments.start.mutate({ releaseId, environmentId: service.staging });
  expect(await finished(client, d.id)).toBe("succeeded");
  return releaseId;
}

/**
 * Every checklist item for the release in `environmentId` done: the manual ones ticked by `client`, the
 * CI ones posted with `ciToken` through the public evidence API, as a pipeline would.
 */
export async function completeChecklist(
  t: TestPanel,
  client: PanelClient,
  ciToken: string,
  { releaseId, environmentId }: { releaseId: string; environmentId: string },
): Promise<void> {
  for (const item of await client.checklist.get.query({ releaseId, environmentId })) {
    if (item.kind === "manual")
      await client.checklist.tick.mutate({ releaseId, environmentId, key: item.key, done: true, note: "checked" });
    else {
      const response = await fetch(`${t.url}/api/v1/releases/${releaseId}/evidence`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${ciToken}` },
        body: JSON.stringify({ item: item.key, status: "passed", url: "https://ci.example.com/run/1" }),
      });
      expect(response.status, `evidence for ${item.key}`).toBe(200);
    }
  }
}

/**
 * A release of `version` through staging, with a change for production that `approver` approved and a
 * complete checklist: everything production's governance asks before a start.
 */
export async function readyForProduction(
  t: TestPanel,
  people: { rm: TestUser; approver: TestUser },
  service: GovernedService,
  version: string,
  change: { type: "standard" | "major"; title: string; performanceAssessment?: string },
): Promise<{ releaseId: string; changeId: string }> {
  const releaseId = await throughStaging(people.rm.client, service, version);
  const { id: changeId } = await people.rm.client.changes.create.mutate({
    releaseId,
    environmentId: service.production,
    ...change,
  });
  await people.approver.client.changes.approve.mutate({ id: changeId });
  await completeChecklist(t, people.rm.client, service.ciToken, { releaseId, environmentId: service.production });
  return { releaseId, changeId };
}
