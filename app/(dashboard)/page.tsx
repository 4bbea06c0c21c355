import { EmptyState } from "@/components/EmptyState";

export default function OverviewPage() {
  return (
    <>
      <h1>Overview</h1>
      <EmptyState title="No services yet">
        <p>Services and their environments appear here with the live version, health and any deployment in progress.</p>
      </EmptyState>
    </>
  );
}
