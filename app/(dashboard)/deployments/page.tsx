import type { Metadata } from "next";
import { EmptyState } from "@/components/EmptyState";

export const metadata: Metadata = { title: "Deployments" };

export default function DeploymentsPage() {
  return (
    <>
      <h1>Deployments</h1>
      <EmptyState title="No deployments yet">
        <p>Every blue/green deployment, in progress or finished, is listed here with its timeline and gate results.</p>
      </EmptyState>
    </>
  );
}
