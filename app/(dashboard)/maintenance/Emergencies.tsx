"use client";
import { useMutation, useQueries, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import type { Focus, MaintenanceCan } from "./permissions";
import { formatDateTime, relative, useNow } from "./time";
import type { EmergenciesQuery, Emergency, ServiceSummary } from "./types";
import { ServiceSelect } from "@/components/ServiceSelect";
import { formText } from "../../../lib/form-text";

const STATUS: Record<string, { label: string; tone: string }> = {
  requested: { label: "awaiting authorisation", tone: "warn" },
  authorized: { label: "authorised", tone: "live" },
  rejected: { label: "rejected", tone: "bad" },
  closed: { label: "closed", tone: "off" },
};

export function Emergencies({
  can,
  focus,
  emergencies,
  services,
  onChanged,
}: {
  can: MaintenanceCan;
  focus: Focus;
  emergencies: EmergenciesQuery;
  services: ServiceSummary[];
  onChanged: () => void;
}) {
  const trpc = useTRPC();
  const now = useNow(1000);
  // Environment names, for the emergencies scoped to one environment.
  const scoped = [
    ...new Set((emergencies.data ?? []).filter((e) => e.environmentId && e.serviceId).map((e) => e.serviceId!)),
  ];
  const details = useQueries({ queries: scoped.map((id) => trpc.services.get.queryOptions({ id })) });
  const environmentNames = new Map(
    details.flatMap((d) => d.data?.environments.map((env) => [env.id, env.name] as const) ?? []),
  );
  const serviceNames = new Map(services.map((s) => [s.id, s.name]));
  const scopeOf = (e: Emergency) =>
    e.serviceId
      ? `${serviceNames.get(e.serviceId) ?? "a service"}${e.environmentId ? ` · ${environmentNames.get(e.environmentId) ?? "one environment"}` : " · every environment"}`
      : "every service";

  const list = emergencies.data ?? [];
  // Active and undecided emergencies first; the rest as they came.
  const rank = (e: Emergency) => (e.active ? 0 : e.status === "requested" ? 1 : 2);
  const sorted = [...list].sort((a, b) => rank(a) - rank(b));

  return (
    <div className="mx-split">
      <div>
        {emergencies.error ? <Notice kind="error">{errorMessage(emergencies.error)}</Notice> : null}
        {emergencies.isPending && <p className="muted">Loading emergencies…</p>}
        {emergencies.data && list.length === 0 && (
          <p className="muted card">No emergency maintenance has been requested.</p>
        )}
        <div className="grid" aria-label="Emergencies">
          {sorted.map((e) => (
            <EmergencyCard
              key={e.id}
              emergency={e}
              scope={scopeOf(e)}
              can={can}
              now={now}
              focused={focus.emergency === e.id}
              onChanged={onChanged}
            />
          ))}
        </div>
      </div>
      {can.requestEmergency && <RequestEmergency services={services} onRequested={onChanged} />}
    </div>
  );
}

function EmergencyCard({
  emergency: e,
  scope,
  can,
  now,
  focused,
  onChanged,
}: {
  emergency: Emergency;
  scope: string;
  can: MaintenanceCan;
  now: number;
  focused: boolean;
  onChanged: () => void;
}) {
  const trpc = useTRPC();
  const [note, setNote] = useState("");
  const done = { onSettled: onChanged };
  const authorize = useMutation(trpc.maintenance.authorizeEmergency.mutationOptions(done));
  const reject = useMutation(trpc.maintenance.rejectEmergency.mutationOptions(done));
  const close = useMutation(trpc.maintenance.closeEmergency.mutationOptions(done));
  const busy = authorize.isPending || reject.isPending || close.isPending;
  const error = authorize.error ?? reject.error ?? close.error;
  const expired = e.status === "authorized" && !e.active;
  const status = expired
    ? { label: "authorisation expired", tone: "off" }
    : (STATUS[e.status] ?? { label: e.status, tone: "off" });
  const decide = e.status === "requested" && (can.authorize || can.reject);
  const input = () => ({ id: e.id, note: note.trim() || undefined });
  const closable = can.close && (e.status === "requested" || e.active);
  const closeButton = (
    <button
      type="button"
      disabled={busy}
      onClick={() =>
        confirm(
          e.active ? "End this emergency now? Its bypass stops at once." : "Close this request without a decision?",
        ) && close.mutate({ id: e.id })
      }
    >
      {e.active ? "End emergency" : "Close request"}
    </button>
  );

  return (
    <article
      className={`card mx-emergency${e.active ? " mx-active" : ""}${focused ? " mx-focused" : ""}`}
      data-testid={`emergency-${e.id}`}
      data-status={e.status}
      id={`emergency-${e.id}`}
      tabIndex={-1}
      aria-label={`Emergency: ${e.reason}`}
    >
      <div className="section-head">
        <div>
          <span className={`status status-${status.tone}`} data-testid="em-status">
            {status.label}
          </span>{" "}
          <span className="muted">
            requested by <strong>{e.requestedBy?.name ?? "someone"}</strong> · {formatDateTime(new Date(e.createdAt))} (
            {relative(new Date(e.createdAt), now)})
          </span>
        </div>
        <span className="badge">{scope}</span>
      </div>
      {e.active && e.expiresAt && (
        <div className="notice warn mx-active-note" data-testid="em-active">
          <strong>Active</strong> until {formatDateTime(new Date(e.expiresAt))} ({relative(new Date(e.expiresAt), now)}
          ): deployments in its scope may bypass maintenance windows, approvals and the promotion order.
        </div>
      )}
      <dl className="kv mx-emergency-text">
        <dt>Reason</dt>
        <dd>{e.reason}</dd>
        <dt>Impact</dt>
        <dd>{e.impact}</dd>
        <dt>Planned actions</dt>
        <dd className="mx-pre">{e.plannedActions}</dd>
        {e.decidedAt && (
          <>
            <dt>{e.status === "rejected" ? "Rejected by" : "Authorised by"}</dt>
            <dd data-testid="em-decision">
              <strong>{e.decidedBy?.name ?? "someone"}</strong> · {formatDateTime(new Date(e.decidedAt))}
              {e.decisionNote && <div className="mx-pre">“{e.decisionNote}”</div>}
            </dd>
          </>
        )}
        {e.expiresAt && e.status !== "rejected" && (
          <>
            <dt>Valid until</dt>
            <dd data-testid="em-expires">
              {formatDateTime(new Date(e.expiresAt))} ({relative(new Date(e.expiresAt), now)})
            </dd>
          </>
        )}
        {e.review && (
          <>
            <dt>Review</dt>
            <dd>
              <a href={`#review-${e.review.id}`}>Post-incident review</a> (
              {e.review.status === "signed_off" ? "signed off" : `due ${relative(new Date(e.review.dueAt), now)}`})
            </dd>
          </>
        )}
      </dl>
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
      {decide && (
        <div className="mx-decide">
          <div className="field">
            <label htmlFor={`note-${e.id}`}>Decision note (needed to reject)</label>
            <textarea id={`note-${e.id}`} rows={2} value={note} onChange={(ev) => setNote(ev.target.value)} />
          </div>
          <div className="controls">
            {can.authorize && (
              <button type="button" className="primary" disabled={busy} onClick={() => authorize.mutate(input())}>
                Authorise
              </button>
            )}
            {can.reject && (
              <button type="button" className="danger" disabled={busy} onClick={() => reject.mutate(input())}>
                Reject
              </button>
            )}
            {closable && <span className="mx-push">{closeButton}</span>}
          </div>
        </div>
      )}
      {closable && !decide && <p className="mx-close">{closeButton}</p>}
    </article>
  );
}

function RequestEmergency({ services, onRequested }: { services: ServiceSummary[]; onRequested: () => void }) {
  const trpc = useTRPC();
  const [serviceId, setServiceId] = useState("");
  const service = useQuery({ ...trpc.services.get.queryOptions({ id: serviceId }), enabled: serviceId !== "" });
  const request = useMutation(trpc.maintenance.requestEmergency.mutationOptions({ onSuccess: onRequested }));

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const f = new FormData(form);
    const environmentId = formText(f, "environmentId");
    request.mutate(
      {
        reason: formText(f, "reason"),
        impact: formText(f, "impact"),
        plannedActions: formText(f, "plannedActions"),
        serviceId: serviceId || undefined,
        environmentId: environmentId || undefined,
      },
      {
        onSuccess: () => {
          form.reset();
          setServiceId("");
        },
      },
    );
  }

  return (
    <form className="card mx-request" onSubmit={onSubmit} aria-label="Request emergency maintenance">
      <h3>Request emergency maintenance</h3>
      <p className="muted mx-small">
        A CTO or on-call engineer other than you authorises it. Once authorised, deployments in its scope may bypass
        windows and approvals for 4 hours, and a post-incident review is due within 24 hours.
      </p>
      {request.isSuccess && (
        <Notice kind="ok">
          Requested. The CTO and on-call engineers have been notified.{" "}
          <a href={`#emergency-${request.data.id}`}>See the request</a>
        </Notice>
      )}
      {request.error && <Notice kind="error">{errorMessage(request.error)}</Notice>}
      <div className="field">
        <label htmlFor="em-reason">Reason</label>
        <textarea id="em-reason" name="reason" rows={2} required />
      </div>
      <div className="field">
        <label htmlFor="em-impact">Impact</label>
        <textarea id="em-impact" name="impact" rows={2} required />
      </div>
      <div className="field">
        <label htmlFor="em-actions">Planned actions</label>
        <textarea id="em-actions" name="plannedActions" rows={3} required />
      </div>
      <div className="row">
        <ServiceSelect
          id="em-service"
          name="serviceId"
          services={services}
          value={serviceId}
          onChange={setServiceId}
          emptyLabel="All services"
        />
        <div className="field">
          <label htmlFor="em-environment">Environment</label>
          <select id="em-environment" name="environmentId" disabled={!serviceId} key={serviceId}>
            <option value="">{serviceId ? "Every environment" : "Pick a service first"}</option>
            {service.data?.environments.map((env) => (
              <option key={env.id} value={env.id}>
                {env.name}
                {env.production ? " (production)" : ""}
              </option>
            ))}
          </select>
        </div>
      </div>
      <button className="danger" type="submit" disabled={request.isPending}>
        Request emergency maintenance
      </button>
    </form>
  );
}
