import type { Metadata } from "next";
import { mayUse } from "../../../_lib/access";
import { requirePageSession } from "../../../_lib/session";
import { ServiceView } from "./ServiceView";

export const metadata: Metadata = { title: "Service" };

export default async function ServicePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const session = await requirePageSession();
  return (
    <ServiceView
      serviceId={id}
      can={{
        createRelease: mayUse(session, "releases.create"),
        deploy: mayUse(session, "deployments.start"),
        redeploy: mayUse(session, "changes.requestRedeploy"),
        editPolicy: mayUse(session, "environments.updatePolicy"),
        editThresholds: mayUse(session, "environments.updateAlertThresholds"),
        traffic: mayUse(session, "environments.setTrafficGenerator"),
        hooks: mayUse(session, "environments.setRollbackHooks"),
        configureTarget: mayUse(session, "targets.configure"),
        prometheus: mayUse(session, "environments.prometheus"),
        configurePrometheus: mayUse(session, "environments.setPrometheus"),
        checklistTemplate: mayUse(session, "checklist.updateTemplate"),
        tokens: mayUse(session, "tokens.list"),
        history: mayUse(session, "audit.deploymentHistory"),
      }}
    />
  );
}
