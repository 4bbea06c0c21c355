import type { Metadata } from "next";
import { EmptyState } from "@/components/EmptyState";

export const metadata: Metadata = { title: "Maintenance" };

export default function MaintenancePage() {
  return (
    <>
      <h1>Maintenance</h1>
      <EmptyState title="No maintenance windows scheduled">
        <p>Upcoming maintenance windows, their countdowns and emergency maintenance requests appear here.</p>
      </EmptyState>
    </>
  );
}
