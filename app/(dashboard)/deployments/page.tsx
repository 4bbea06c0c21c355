import type { Metadata } from "next";
import { DeploymentList } from "./DeploymentList";

export const metadata: Metadata = { title: "Deployments" };

export default async function DeploymentsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  return (
    <>
      <h1>Deployments</h1>
      <DeploymentList serviceId={typeof params.service === "string" ? params.service : undefined} />
    </>
  );
}
