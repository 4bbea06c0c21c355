import type { Metadata } from "next";
import { requirePageSession } from "../../_lib/session";
import { NotificationList } from "./NotificationList";

export const metadata: Metadata = { title: "Notifications" };

export default async function NotificationsPage() {
  await requirePageSession();
  return <NotificationList />;
}
