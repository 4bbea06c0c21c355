import type { Metadata } from "next";
import { EmptyState } from "@/components/EmptyState";

export const metadata: Metadata = { title: "Approvals" };

export default function ApprovalsPage() {
  return (
    <>
      <h1>Approvals</h1>
      <EmptyState title="Nothing waiting for you">
        <p>Change requests that need your sign-off appear here.</p>
      </EmptyState>
    </>
  );
}
