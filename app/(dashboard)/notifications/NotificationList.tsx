"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useCallback } from "react";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import type { AppRouter } from "@/server/trpc/root";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../_lib/trpc";
import { ago, formatDateTime, localiseTimestamps, useNow } from "../maintenance/time";

type Notifications = inferRouterOutputs<AppRouter>["me"]["notifications"];

/** The notification centre: the latest 50 notices, unread ones first in weight, each markable as read. */
export function NotificationList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = trpc.me.notifications.queryKey();
  const notifications = useQuery({ ...trpc.me.notifications.queryOptions(), refetchInterval: 60_000 });
  const refresh = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.me.notifications.queryKey() }),
    [queryClient, trpc],
  );
  useRealtimeEvent("notification", refresh);
  const now = useNow(30_000);

  const markRead = useMutation(
    trpc.me.markNotificationsRead.mutationOptions({
      // The list and the bell show it read at once; the server's answer settles it.
      onMutate: async ({ ids }) => {
        await queryClient.cancelQueries({ queryKey: key });
        const before = queryClient.getQueryData<Notifications>(key);
        if (before) {
          const at = new Date();
          const items = before.items.map((n) =>
            n.readAt === null && (ids === "all" || ids.includes(n.id)) ? { ...n, readAt: at } : n,
          );
          const marked =
            before.items.filter((n) => n.readAt === null).length - items.filter((n) => n.readAt === null).length;
          queryClient.setQueryData<Notifications>(key, {
            items,
            unread: ids === "all" ? 0 : Math.max(0, before.unread - marked),
          });
        }
        return { before };
      },
      onError: (_error, _input, context) => {
        if (context?.before) queryClient.setQueryData(key, context.before);
      },
      onSettled: refresh,
    }),
  );

  const data = notifications.data;
  return (
    <>
      <div className="section-head">
        <h1>Notifications</h1>
        <div className="controls nt-head-controls">
          {data && (
            <span className="muted" data-testid="notifications-unread">
              {data.unread} unread
            </span>
          )}
          <button
            type="button"
            className="primary"
            disabled={!data || data.unread === 0 || markRead.isPending}
            onClick={() => markRead.mutate({ ids: "all" })}
          >
            Mark all read
          </button>
        </div>
      </div>
      {notifications.error && <Notice kind="error">{errorMessage(notifications.error)}</Notice>}
      {markRead.error && <Notice kind="error">{errorMessage(markRead.error)}</Notice>}
      {notifications.isPending && <p className="muted">Loading…</p>}
      {data && data.items.length === 0 && (
        <EmptyState title="No notifications">
          <p>
            Emergencies, post-incident reviews, alerts and maintenance window notices for you appear here. Choose what
            you hear about on the <Link href="/maintenance">Maintenance</Link> page.
          </p>
        </EmptyState>
      )}
      {data && data.items.length > 0 && (
        <ul className="nt-list" aria-label="Notifications">
          {data.items.map((n) => {
            const unread = n.readAt === null;
            const at = new Date(n.createdAt);
            return (
              <li
                key={n.id}
                className={`nt-item${unread ? " nt-unread" : ""}`}
                data-testid={`notification-${n.id}`}
                data-kind={n.kind}
                data-unread={unread}
              >
                <div className="nt-main">
                  <div className="nt-title">
                    {unread && <span className="nt-dot" aria-label="Unread" role="img" />}
                    {n.title}
                  </div>
                  {n.body && <div className="nt-body">{localiseTimestamps(n.body)}</div>}
                  <div className="muted nt-time">
                    <time dateTime={at.toISOString()}>{formatDateTime(at)}</time> · {ago(at, now)}
                  </div>
                </div>
                <div className="controls nt-actions">
                  {n.link && (
                    <Link href={n.link} onClick={() => unread && markRead.mutate({ ids: [n.id] })} className="nt-open">
                      Open
                    </Link>
                  )}
                  {unread && (
                    <button
                      type="button"
                      disabled={markRead.isPending}
                      onClick={() => markRead.mutate({ ids: [n.id] })}
                    >
                      Mark read
                    </button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {data && data.items.length >= 50 && <p className="muted">The latest 50 are shown.</p>}
    </>
  );
}
