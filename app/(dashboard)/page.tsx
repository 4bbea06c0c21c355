import { mayUse } from "../_lib/access";
import { requirePageSession } from "../_lib/session";
import { Overview } from "./Overview";

export default async function OverviewPage() {
  const session = await requirePageSession();
  return <Overview canCreateService={mayUse(session, "services.create")} />;
}
