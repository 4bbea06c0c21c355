import type { Metadata } from "next";
import { mayUse } from "../../../_lib/access";
import { requirePageSession } from "../../../_lib/session";
import { DeploymentView } from "./DeploymentView";

export const metadata: Metadata = { title: "Deployment" };

export default async function DeploymentPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const session = await requirePageSession();
  return (
    <DeploymentView
      deploymentId={id}
      userId={session.id}
      can={{
        survey: mayUse(session, "surveys.submit"),
        pause: mayUse(session, "deployments.pause"),
        resume: mayUse(session, "deployments.resume"),
        promote: mayUse(session, "deployments.promote"),
        rollback: mayUse(session, "deployments.rollback"),
        abort: mayUse(session, "deployments.abort"),
        tickChecklist: mayUse(session, "checklist.tickMany"),
      }}
    />
  );
}
