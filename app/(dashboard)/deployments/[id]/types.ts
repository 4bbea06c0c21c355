import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";

/** The deployment as the read model (server/releases/queries.ts deploymentDetail) returns it. */
export type DeploymentData = inferRouterOutputs<AppRouter>["deployments"]["get"];

/** What the signed-in person may do on this page (their roles; the server checks again). */
export type Can = {
  pause: boolean;
  resume: boolean;
  promote: boolean;
  rollback: boolean;
  abort: boolean;
  survey: boolean;
  tickChecklist: boolean;
};
