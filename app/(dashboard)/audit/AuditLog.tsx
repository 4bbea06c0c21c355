"use client";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo, useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { ServiceSelect } from "@/components/ServiceSelect";
import { formatDate, formatDateTime } from "@/lib/format";

/** The filter as the form holds it: strings, empty for "any". Times are the browser's local time. */
interface FormFilter {
  from: string;
  to: string;
  serviceId: string;
  environmentId: string;
  actor: string;
  action: string;
  text: string;
}

const EMPTY: FormFilter = { from: "", to: "", serviceId: "", environmentId: "", actor: "", action: "", text: "" };

/** A datetime-local value ("2026-11-24T14:30") as an instant, or null when it is not one. */
function localTime(value: string): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The applied filter as the API takes it (dates as instants, empty fields left out). */
function apiFilter(f: FormFilter) {
  const text = (v: string) => v.trim() || undefined;
  return {
    from: localTime(f.from) ?? undefined,
    to: localTime(f.to) ?? undefined,
    serviceId: text(f.serviceId),
    environmentId: text(f.environmentId),
    actor: text(f.actor),
    action: text(f.action),
    text: text(f.text),
  };
}

/** The export URL for the applied filter. */
function exportUrl(format: "csv" | "json", f: FormFilter): string {
  const params = new URLSearchParams({ format });
  for (const [key, value] of Object.entries(apiFilter(f))) {
    if (value !== undefined) params.set(key, value instanceof Date ? value.toISOString() : value);
  }
  return `/api/v1/audit/export?${params.toString()}`;
}

function validate(f: FormFilter): string | null {
  if (f.from && !localTime(f.from)) return "From: must be a date and time";
  if (f.to && !localTime(f.to)) return "To: must be a date and time";
  const from = localTime(f.from);
  const to = localTime(f.to);
  if (from && to && from > to) return "From: must not be after To";
  return null;
}

const short = (id: string | null) => (id ? id.slice(0, 8) : "");

function json(value: unknown): string {
  return value === null || value === undefined ? "" : JSON.stringify(value);
}

export function AuditLog() {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<FormFilter>(EMPTY);
  const [applied, setApplied] = useState<FormFilter>(EMPTY);
  const [formError, setFormError] = useState<string | null>(null);
  const [verifyRequested, setVerifyRequested] = useState(false);

  const services = useQuery(trpc.services.list.queryOptions());
  const service = useQuery(
    trpc.services.get.queryOptions({ id: draft.serviceId }, { enabled: Boolean(draft.serviceId) }),
  );
  const actions = useQuery(trpc.audit.actions.queryOptions());
  const events = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { filter: apiFilter(applied), limit: 50 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const verification = useQuery({
    ...trpc.audit.verify.queryOptions(undefined, { enabled: verifyRequested }),
    staleTime: 0,
  });

  const serviceNames = useMemo(() => new Map((services.data ?? []).map((s) => [s.id, s.name])), [services.data]);
  const environmentNames = useMemo(
    () => new Map((service.data?.environments ?? []).map((e) => [e.id, e.name])),
    [service.data],
  );

  const setField = (key: keyof FormFilter, value: string) =>
    setDraft((d) => ({ ...d, [key]: value, ...(key === "serviceId" ? { environmentId: "" } : {}) }));
  const set = (key: keyof FormFilter) => (event: { currentTarget: { value: string } }) =>
    setField(key, event.currentTarget.value);

  function onFilter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const problem = validate(draft);
    setFormError(problem);
    if (!problem) setApplied(draft);
  }

  function onReset() {
    setDraft(EMPTY);
    setApplied(EMPTY);
    setFormError(null);
  }

  const rows = events.data?.pages.flatMap((page) => page.events) ?? [];
  const v = verification.data;
  return (
    <>
      <form className="card" onSubmit={onFilter} onReset={onReset} aria-label="Filter audit events" noValidate>
        <div className="row">
          <div className="field">
            <label htmlFor="f-from">From</label>
            <input id="f-from" name="from" type="datetime-local" step="1" value={draft.from} onChange={set("from")} />
          </div>
          <div className="field">
            <label htmlFor="f-to">To</label>
            <input id="f-to" name="to" type="datetime-local" step="1" value={draft.to} onChange={set("to")} />
          </div>
          <ServiceSelect
            id="f-service"
            name="serviceId"
            services={services.data}
            value={draft.serviceId}
            onChange={(value) => setField("serviceId", value)}
            emptyLabel="Any service"
          />
          <div className="field">
            <label htmlFor="f-environment">Environment</label>
            <select
              id="f-environment"
              name="environmentId"
              value={draft.environmentId}
              onChange={set("environmentId")}
              disabled={!draft.serviceId}
            >
              <option value="">{draft.serviceId ? "Any environment" : "Choose a service first"}</option>
              {(service.data?.environments ?? []).map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="f-actor">Actor</label>
            <input
              id="f-actor"
              name="actor"
              placeholder="e-mail or user id"
              value={draft.actor}
              onChange={set("actor")}
            />
          </div>
          <div className="field">
            <label htmlFor="f-action">Action</label>
            <input
              id="f-action"
              name="action"
              placeholder="e.g. auth. or deployment.started"
              list="f-action-list"
              value={draft.action}
              onChange={set("action")}
            />
            <datalist id="f-action-list">
              {(actions.data ?? []).map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor="f-text">Text</label>
            <input
              id="f-text"
              name="text"
              placeholder="anywhere, incl. before/after"
              value={draft.text}
              onChange={set("text")}
            />
          </div>
          <div className="field controls">
            <button type="submit" className="primary">
              Filter
            </button>
            <button type="reset">Reset</button>
          </div>
        </div>
        <div className="section-head">
          <div className="controls">
            <a href={exportUrl("csv", applied)} download>
              Export CSV
            </a>
            <a href={exportUrl("json", applied)} download>
              Export JSON
            </a>
            <span className="muted" style={{ fontSize: "0.85rem" }}>
              Exports hold every event of the applied filter, oldest first, with their hashes.
            </span>
          </div>
          <div className="controls">
            {applied.serviceId && (
              <Link href={`/services/${applied.serviceId}/history`}>
                Deployment history of {serviceNames.get(applied.serviceId) ?? "this service"}
              </Link>
            )}
            {/* Every click verifies the chain as it is now, never a cached answer. */}
            <button
              type="button"
              onClick={() => (verifyRequested ? void verification.refetch() : setVerifyRequested(true))}
              disabled={verification.isFetching}
            >
              {verification.isFetching ? "Verifying…" : "Verify chain"}
            </button>
          </div>
        </div>
      </form>

      {formError && <Notice kind="error">{formError}</Notice>}
      {v &&
        (v.ok ? (
          <Notice kind="ok">
            <span data-testid="chain-status">Chain intact</span>: {v.checked} events verified
            {v.anchor
              ? `, from the retention anchor at event ${v.anchor.seq} (events before ${formatDate(v.anchor.purgedBefore)} were purged)`
              : " from the first event"}
            , at {formatDateTime(v.verifiedAt)}.
          </Notice>
        ) : (
          <Notice kind="error">
            <span data-testid="chain-status">Chain broken at event {v.firstBrokenSeq}</span>:
            <ul>
              {v.breaks.map((b) => (
                <li key={`${b.seq}-${b.kind}`}>{b.detail}</li>
              ))}
            </ul>
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
            <th>Service / environment</th>
            <th>Details</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((event) => (
            <tr key={event.seq}>
              <td className="mono">{event.seq}</td>
              <td title={new Date(event.at).toISOString()}>{formatDateTime(event.at)}</td>
              <td>
                {event.actorEmail ?? "—"}
                {event.actorRoles.length > 0 && (
                  <div className="muted" style={{ fontSize: "0.8rem" }}>
                    {event.actorRoles.join(", ")}
                  </div>
                )}
              </td>
              <td className="mono">{event.action}</td>
              <td>
                {event.entityType}
                {event.entityId ? (
                  <span className="muted mono" title={event.entityId}>
                    {" "}
                    {short(event.entityId)}
                  </span>
                ) : null}
              </td>
              <td>
                {event.serviceId ? (
                  <span title={event.serviceId}>{serviceNames.get(event.serviceId) ?? short(event.serviceId)}</span>
                ) : (
                  "—"
                )}
                {event.environmentId ? (
                  <span className="muted" title={event.environmentId}>
                    {" / "}
                    {environmentNames.get(event.environmentId) ?? short(event.environmentId)}
                  </span>
                ) : null}
              </td>
              <td className="mono" style={{ maxWidth: 360, overflowWrap: "anywhere" }}>
                {json(event.after).slice(0, 200)}
                {json(event.after).length > 200 ? "…" : ""}
                <details>
                  <summary className="muted">more</summary>
                  <dl className="kv">
                    <dt>Before</dt>
                    <dd>
                      <pre style={{ whiteSpace: "pre-wrap", margin: 0 }}>
                        {event.before === null ? "—" : JSON.stringify(event.before, null, 2)}
                      </pre>
                    </dd>
                    <dt>After</dt>
                    <dd>
                      <pre style={{ whiteSpace: "pre-wrap", margin: 0 }}>
                        {event.after === null ? "—" : JSON.stringify(event.after, null, 2)}
                      </pre>
                    </dd>
                    <dt>Entity id</dt>
                    <dd>{event.entityId ?? "—"}</dd>
                    <dt>Actor id</dt>
                    <dd>{event.actorId ?? "—"}</dd>
                    <dt>Trace</dt>
                    <dd>{event.traceId ?? "—"}</dd>
                    <dt>Hash</dt>
                    <dd>{event.hash}</dd>
                    <dt>Previous</dt>
                    <dd>{event.prevHash}</dd>
                  </dl>
                </details>
              </td>
              <td className="muted mono">{event.ip ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.isPending && <p className="muted">Loading…</p>}
      {!events.isPending && rows.length === 0 && !events.error && <p className="muted">No events match this filter.</p>}
      {events.hasNextPage && (
        <p>
          <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
            {events.isFetchingNextPage ? "Loading…" : "Load older events"}
          </button>
        </p>
      )}
    </>
  );
}
