"use client";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";

type Filter = { actor?: string; action?: string; text?: string; from?: string; to?: string };

export function AuditLog() {
  const trpc = useTRPC();
  const [filter, setFilter] = useState<Filter>({});
  const [verifyRequested, setVerifyRequested] = useState(0);
  const events = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { filter: { ...filter, from: filter.from ? new Date(filter.from) : undefined, to: filter.to ? new Date(filter.to) : undefined }, limit: 50 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const verification = useQuery({ ...trpc.audit.verify.queryOptions(undefined, { enabled: verifyRequested > 0 }), staleTime: 0 });

  function onFilter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? "").trim() || undefined;
    setFilter({ actor: value("actor"), action: value("action"), text: value("text"), from: value("from"), to: value("to") });
  }

  const rows = events.data?.pages.flatMap((page) => page.events) ?? [];
  return (
    <>
      <form className="card row" onSubmit={onFilter} aria-label="Filter audit events">
        <div className="field">
          <label htmlFor="f-from">From</label>
          <input id="f-from" name="from" type="datetime-local" />
        </div>
        <div className="field">
          <label htmlFor="f-to">To</label>
          <input id="f-to" name="to" type="datetime-local" />
        </div>
        <div className="field">
          <label htmlFor="f-actor">Actor</label>
          <input id="f-actor" name="actor" placeholder="e-mail" />
        </div>
        <div className="field">
          <label htmlFor="f-action">Action</label>
          <input id="f-action" name="action" placeholder="e.g. auth." />
        </div>
        <div className="field">
          <label htmlFor="f-text">Text</label>
          <input id="f-text" name="text" />
        </div>
        <div className="field">
          <button type="submit" className="primary">Filter</button>
        </div>
        <div className="field">
          <button type="button" onClick={() => setVerifyRequested((n) => n + 1)} disabled={verification.isFetching}>
            Verify chain
          </button>
        </div>
      </form>

      {verification.data &&
        (verification.data.ok ? (
          <Notice kind="ok">
            <span data-testid="chain-status">Chain intact</span>: {verification.data.checked} events verified.
          </Notice>
        ) : (
          <Notice kind="error">
            <span data-testid="chain-status">Chain broken at event {verification.data.firstBrokenSeq}</span>:{" "}
            {verification.data.breaks.map((b) => b.detail).join("; ")}
          </Notice>
        ))}
      {verification.error && <Notice kind="error">{errorMessage(verification.error)}</Notice>}
      {events.error && <Notice kind="error">{errorMessage(events.error)}</Notice>}

      <table aria-label="Audit events" style={{ marginTop: "1rem" }}>
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Entity</th>
            <th>Details</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((event) => (
            <tr key={event.seq}>
              <td className="mono">{event.seq}</td>
              <td>{new Date(event.at).toLocaleString()}</td>
              <td>{event.actorEmail ?? "—"}</td>
              <td className="mono">{event.action}</td>
              <td>
                {event.entityType}
                {event.entityId ? <span className="muted mono"> {event.entityId.slice(0, 12)}</span> : null}
              </td>
              <td className="mono" style={{ maxWidth: 320, overflowWrap: "anywhere" }}>
                {event.after ? JSON.stringify(event.after) : ""}
              </td>
              <td className="muted mono">{event.ip ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!events.isPending && rows.length === 0 && <p className="muted">No events match this filter.</p>}
      {events.hasNextPage && (
        <p>
          <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
            Load older events
          </button>
        </p>
      )}
    </>
  );
}
