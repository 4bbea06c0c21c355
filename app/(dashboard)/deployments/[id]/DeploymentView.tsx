"use client";
/**
 * One deployment, in parts: header and commands, traffic steps and split, live charts with each
 * slot's figures, gates, smoke tests, timeline and checklist. The deployment and everything live
 * about it come from the react-query cache (useDeployment); each part only renders.
 */
import { Notice } from "@/components/Notice";
import { errorMessage } from "../../../_lib/trpc";
import { DeploymentChecklist } from "./DeploymentChecklist";
import { DeploymentHeader } from "./DeploymentHeader";
import { EcsPlan } from "./EcsPlan";
import { Figures } from "./Figures";
import { GateTable } from "./GateTable";
import { LiveCharts, TrafficSteps } from "./LiveCharts";
import { SmokeTests } from "./SmokeTests";
import { Survey } from "./Survey";
import { Timeline } from "./Timeline";
import type { Can } from "./types";
import { useDeployment } from "./useDeployment";

export function DeploymentView({ deploymentId, userId, can }: { deploymentId: string; userId: string; can: Can }) {
  const { deployment, liveGates, refresh } = useDeployment(deploymentId);
  if (deployment.error) return <Notice kind="error">{errorMessage(deployment.error)}</Notice>;
  const d = deployment.data;
  if (!d) return <p className="muted">Loading…</p>;
  return (
    <>
      <DeploymentHeader d={d} can={can} refresh={refresh} />
      <TrafficSteps d={d} />
      <Figures d={d} />
      {d.environment.production && d.status === "succeeded" && (
        <Survey deploymentId={d.id} userId={userId} canSubmit={can.survey} />
      )}
      <LiveCharts d={d} />
      {d.environment.target === "ecs" && (
        <EcsPlan environmentId={d.environment.id} releaseId={d.release.id} deploymentId={d.id} />
      )}
      <GateTable d={d} live={liveGates} />
      <SmokeTests results={d.smokeResults} />
      <Timeline events={d.events} />
      <DeploymentChecklist d={d} canTick={can.tickChecklist} />
    </>
  );
}
