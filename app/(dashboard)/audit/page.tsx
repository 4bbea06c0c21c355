import type { Metadata } from "next";
import { Forbidden } from "@/components/Forbidden";
import { rolesAllowed } from "@/server/auth/permissions";
import { mayUse } from "../../_lib/access";
import { requirePageSession } from "../../_lib/session";
import { AuditLog } from "./AuditLog";

export const metadata: Metadata = { title: "Audit" };

export default async function AuditPage() {
  const session = await requirePageSession();
  if (!mayUse(session, "audit.list")) return <Forbidden what="The audit log" roles={rolesAllowed("audit.list")} />;
  return (
    <>
      <h1>Audit log</h1>
      <AuditLog />
    </>
  );
}
