import type { Metadata } from "next";
import { mayUse } from "../../_lib/access";
import { requirePageSession } from "../../_lib/session";
import { MaintenanceView } from "./MaintenanceView";

export const metadata: Metadata = { title: "Maintenance" };

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value) ?? null;

export default async function MaintenancePage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const session = await requirePageSession();
  const query = await searchParams;
  return (
    <MaintenanceView
      focus={{ emergency: one(query.emergency), review: one(query.review) }}
      can={{
        manageRules: mayUse(session, "maintenance.createRule"),
        updateRules: mayUse(session, "maintenance.updateRule"),
        deleteRules: mayUse(session, "maintenance.deleteRule"),
        requestEmergency: mayUse(session, "maintenance.requestEmergency"),
        authorize: mayUse(session, "maintenance.authorizeEmergency"),
        reject: mayUse(session, "maintenance.rejectEmergency"),
        close: mayUse(session, "maintenance.closeEmergency"),
        updateReview: mayUse(session, "maintenance.updateReview"),
        signOff: mayUse(session, "maintenance.signOffReview"),
        cancelSchedule: mayUse(session, "maintenance.cancelSchedule"),
      }}
    />
  );
}
