/**
 * `deploy --wait`: follows a deployment to its end, printing each timeline event as the panel
 * records it, and tolerating a panel that is briefly unreachable (it carries on where it was).
 */
import { ApiError, UnreachableError, type ApiClient } from "./api-client.ts";
import type { DeploymentAnswer } from "./report.ts";

export interface FollowOptions {
  timeoutMs: number;
  pollMs: number;
  print: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type FollowResult =
  { ended: true; deployment: DeploymentAnswer } | { ended: false; deployment: DeploymentAnswer | null; reason: string };

const time = (iso: string) => iso.slice(11, 19);

export async function followDeployment(client: ApiClient, id: string, options: FollowOptions): Promise<FollowResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + options.timeoutMs;
  let lastSeq = 0;
  let latest: DeploymentAnswer | null = null;
  let unreachable: string | null = null;
  for (;;) {
    try {
      const d = await client.get<DeploymentAnswer>(`/api/v1/deployments/${encodeURIComponent(id)}?afterSeq=${lastSeq}`);
      if (unreachable) options.print(`… the panel answers again`);
      unreachable = null;
      latest = d;
      for (const event of d.events) {
        options.print(`${time(event.at)}  ${event.message}`);
        lastSeq = Math.max(lastSeq, event.seq);
      }
      if (d.verdict !== "in_progress") return { ended: true, deployment: d };
    } catch (error) {
      if (error instanceof ApiError || !(error instanceof UnreachableError)) throw error;
      if (!unreachable) options.print(`… ${error.message}; still waiting`);
      unreachable = error.message;
    }
    if (now() >= deadline)
      return { ended: false, deployment: latest, reason: unreachable ?? "the deployment has not ended" };
    await sleep(Math.min(options.pollMs, Math.max(0, deadline - now())));
  }
}
