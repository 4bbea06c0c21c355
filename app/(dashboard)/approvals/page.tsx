import type { Metadata } from "next";
import { mayUse } from "../../_lib/access";
import { requirePageSession } from "../../_lib/session";
import { ApprovalsView } from "./ApprovalsView";

export const metadata: Metadata = { title: "Approvals" };

export default async function ApprovalsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const session = await requirePageSession();
  const params = await searchParams;
  return (
    <ApprovalsView
      userId={session.id}
      selected={typeof params.change === "string" ? params.change : null}
      can={{
        request: mayUse(session, "changes.create"),
        decide: mayUse(session, "changes.approve"),
        tick: mayUse(session, "checklist.tick"),
        deploy: mayUse(session, "deployments.start"),
        withdraw: mayUse(session, "changes.withdraw"),
      }}
    />
  );
}
