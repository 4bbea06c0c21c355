import type { Metadata } from "next";
import { Forbidden } from "@/components/Forbidden";
import { rolesAllowed } from "@/server/auth/permissions";
import { mayUse } from "../../../../_lib/access";
import { requirePageSession } from "../../../../_lib/session";
import { DeploymentHistory } from "./DeploymentHistory";

export const metadata: Metadata = { title: "Deployment history" };

export default async function DeploymentHistoryPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const session = await requirePageSession();
  if (!mayUse(session, "audit.deploymentHistory"))
    return <Forbidden what="A service's deployment history" roles={rolesAllowed("audit.deploymentHistory")} />;
  return <DeploymentHistory serviceId={id} />;
}
