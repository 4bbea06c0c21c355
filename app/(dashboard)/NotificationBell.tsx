"use client";
/**
 * The header's link to the notification centre, with the unread count. Kept live: the panel pushes
 * a "notification" event to the user's own room (joined automatically) and the count is refetched;
 * a slow poll covers a missed event.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useCallback } from "react";
import { useRealtimeEvent, useTRPC } from "@/app/_lib/trpc";

export function NotificationBell() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pathname = usePathname();
  const notifications = useQuery({ ...trpc.me.notifications.queryOptions(), refetchInterval: 60_000 });
  const refresh = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.me.notifications.queryKey() }),
    [queryClient, trpc],
  );
  useRealtimeEvent("notification", refresh);
  const unread = notifications.data?.unread ?? 0;
  return (
    <Link
      href="/notifications"
      className={`nt-bell${unread > 0 ? " nt-bell-unread" : ""}`}
      aria-label={`Notifications, ${unread} unread`}
      aria-current={pathname === "/notifications" ? "page" : undefined}
      data-testid="notification-bell"
      title={unread > 0 ? `${unread} unread notification${unread === 1 ? "" : "s"}` : "Notifications"}
    >
      <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
        <path
          d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          fill="currentColor"
        />
      </svg>
      {unread > 0 && (
        <span className="nt-bell-count" data-testid="unread-count">
          {unread}
        </span>
      )}
    </Link>
  );
}
