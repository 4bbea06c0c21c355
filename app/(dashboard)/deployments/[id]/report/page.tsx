import type { Metadata } from "next";
import { DeploymentReport } from "./DeploymentReport";

export const metadata: Metadata = { title: "Deployment report" };

export default async function DeploymentReportPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <DeploymentReport deploymentId={id} />;
}
