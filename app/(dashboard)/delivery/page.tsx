import type { Metadata } from "next";
import { Forbidden } from "@/components/Forbidden";
import { rolesAllowed } from "@/server/auth/permissions";
import { PERIOD_DAYS } from "@/server/delivery/report";
import { mayUse } from "../../_lib/access";
import { requirePageSession } from "../../_lib/session";
import { DeliveryMetrics } from "./DeliveryMetrics";

export const metadata: Metadata = { title: "Delivery" };

export default async function DeliveryPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const session = await requirePageSession();
  if (!mayUse(session, "delivery.metrics"))
    return <Forbidden what="Delivery metrics" roles={rolesAllowed("delivery.metrics")} />;
  const query = await searchParams;
  const asked = Number(Array.isArray(query.days) ? query.days[0] : query.days);
  const days = (PERIOD_DAYS as readonly number[]).includes(asked) ? (asked as (typeof PERIOD_DAYS)[number]) : 30;
  return (
    <>
      <h1>Delivery</h1>
      <DeliveryMetrics days={days} />
    </>
  );
}
