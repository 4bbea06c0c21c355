/**
 * A service set up for pipeline tests: fast deployment policies (1 s bakes, no smoke tests), the
 * traffic generator on (gates pass only on enough requests), and an API token with every scope.
 */
import type { Scope } from "../../server/pipelines/scopes.ts";
import { DEFAULT_GATES, type Policy } from "../../server/releases/policy.ts";
import type { TestPanel, TestUser } from "./panel.ts";
import type { RouterInputs } from "./panel-client.ts";

export const FAST_POLICY: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 1,
  // The default gates: the proxies run in the data plane's own process, so a loaded machine no longer
  // shows up in the latency a release is judged by.
  gates: { ...DEFAULT_GATES, minRequests: 5 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 1,
  greenReadyTimeoutSeconds: 30,
  smokeTests: [],
};

export const ALL_SCOPES: Scope[] = ["releases:write", "deployments:write", "evidence:write", "read"];

export async function setUpService(
  t: TestPanel,
  rm: TestUser,
  service: RouterInputs["services"]["create"],
): Promise<{ serviceId: string; environments: Record<string, string> }> {
  const serviceId = (await rm.client.services.create.mutate(service)).id;
  const detail = await rm.client.services.get.query({ id: serviceId });
  const environments: Record<string, string> = {};
  for (const env of detail.environments) {
    environments[env.name] = env.id;
    await rm.client.environments.updatePolicy.mutate({ environmentId: env.id, policy: FAST_POLICY });
    await rm.client.environments.setTrafficGenerator.mutate({ environmentId: env.id, enabled: true, rate: 60 });
  }
  return { serviceId, environments };
}

export async function createApiToken(
  rm: TestUser,
  serviceId: string,
  name: string,
  scopes: Scope[] = ALL_SCOPES,
  expiresInDays = 30,
): Promise<{ id: string; token: string }> {
  return rm.client.tokens.create.mutate({ serviceId, name, scopes, expiresInDays });
}
