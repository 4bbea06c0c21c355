"use client";
import { useInfiniteQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import { StatusBadge } from "@/components/StatusBadge";
import type { AppRouter } from "@/server/trpc/root";
import { errorMessage, useTRPC } from "../../../../_lib/trpc";
import { formatCount, formatDateTime, formatDuration, formatPp } from "@/lib/format";

type Person = { email: string; name: string } | null;

const who = (p: Person) => (p ? `${p.name} <${p.email}>` : "—");

/** The figures kept with a deployment (server/releases/figures.ts), whatever of them are there. */
function Figures({ figures }: { figures: unknown }) {
  if (!figures || typeof figures !== "object") return <span className="muted">—</span>;
  const f = figures as Record<string, unknown>;
  // Rounded as everywhere else ("142.3075860000099" s was shown as stored).
  const num = (key: string, format: (value: number) => string) => (typeof f[key] === "number" ? format(f[key]) : "—");
  return (
    <dl className="kv history-figures">
      <dt>Duration</dt>
      <dd>{num("durationSeconds", formatDuration)}</dd>
      <dt>Breach → rolled back</dt>
      <dd>{num("breachToRollbackSeconds", formatDuration)}</dd>
      <dt>Error rate change</dt>
      <dd>{num("errorRateChangePp", formatPp)}</dd>
      <dt>Seconds without success</dt>
      <dd>{num("secondsWithoutSuccess", formatCount)}</dd>
    </dl>
  );
}

const column = dataTableColumns<Deployment>();
/** Sorted and searched among the deployments loaded so far (newest first; "Load older deployments" adds more). */
const COLUMNS = [
  column.accessor((d) => new Date(d.startedAt).getTime(), {
    id: "started",
    header: "Started",
    sortFn: "basic",
    cell: (info) => {
      const d = info.row.original;
      return (
        <>
          <Link href={`/deployments/${d.id}`}>{formatDateTime(d.startedAt)}</Link>
          {d.finishedAt && (
            <div className="muted" style={{ fontSize: "0.8rem" }}>
              finished {formatDateTime(d.finishedAt)}
            </div>
          )}
        </>
      );
    },
  }),
  column.accessor((d) => d.release.version, {
    id: "release",
    header: "Release",
    sortFn: "alphanumeric",
    meta: { searchable: true },
    cell: (info) => {
      const d = info.row.original;
      return (
        <>
          <span className="mono">{d.release.version}</span>
          {d.emergency && <span className="badge">emergency</span>}
          <div className="muted mono" style={{ fontSize: "0.8rem" }}>
            {d.release.artifact}
            {d.release.commitSha ? ` @ ${d.release.commitSha.slice(0, 12)}` : ""}
          </div>
        </>
      );
    },
  }),
  column.accessor((d) => d.environment.name, {
    id: "environment",
    header: "Environment",
    sortFn: "text",
    meta: { searchable: true },
    cell: (info) => (
      <>
        {info.getValue()}
        {info.row.original.environment.production && <span className="badge">production</span>}
      </>
    ),
  }),
  column.accessor("status", {
    header: "Status",
    sortFn: "text",
    meta: { searchable: true },
    cell: (info) => (
      <>
        <StatusBadge status={info.row.original.status} />
        {info.row.original.failureReason && (
          <div className="muted" style={{ fontSize: "0.8rem" }}>
            {info.row.original.failureReason}
          </div>
        )}
      </>
    ),
  }),
  column.accessor((d) => who(d.startedBy), {
    id: "startedBy",
    header: "Started by",
    sortFn: "text",
    meta: { searchable: true },
  }),
  column.display({ id: "figures", header: "Figures", cell: (info) => <Figures figures={info.row.original.figures} /> }),
];

export function DeploymentHistory({ serviceId }: { serviceId: string }) {
  const trpc = useTRPC();
  const history = useInfiniteQuery(
    trpc.audit.deploymentHistory.infiniteQueryOptions(
      { serviceId, limit: 20 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  if (history.error) return <Notice kind="error">{errorMessage(history.error)}</Notice>;
  if (!history.data) return <p className="muted">Loading…</p>;
  const service = history.data.pages[0]!.service;
  const deployments = history.data.pages.flatMap((p) => p.deployments);
  return (
    <>
      <div className="section-head">
        <h1>Deployment history: {service.name}</h1>
        <Link href={`/audit`}>Audit log</Link>
      </div>
      <p className="muted">
        Every deployment of {service.name}, newest first. Approvals, checklist and evidence are shown as they stood when
        each deployment started, from the record kept with it; later changes to change requests or checklists do not
        alter them.
      </p>
      {deployments.length === 0 ? (
        <EmptyState title="No deployments yet">
          <p>{service.name} has not been deployed anywhere.</p>
        </EmptyState>
      ) : (
        <DataTable
          label="Deployment history"
          data={deployments}
          columns={COLUMNS}
          getRowId={(d) => d.id}
          searchPlaceholder="Filter by release, environment, status or person"
          defaultSort={[{ id: "started", desc: true }]}
          rowProps={(d) => ({ "data-testid": `deployment-${d.id}` })}
          detail={(d) => <Governance deployment={d} />}
        />
      )}
      {history.hasNextPage && (
        <p>
          <button type="button" onClick={() => void history.fetchNextPage()} disabled={history.isFetchingNextPage}>
            {history.isFetchingNextPage ? "Loading…" : "Load older deployments"}
          </button>
        </p>
      )}
    </>
  );
}

type Deployment = inferRouterOutputs<AppRouter>["audit"]["deploymentHistory"]["deployments"][number];

/** Links people or CI typed in are followed only when they are web addresses. */
function ExternalLink({ href }: { href: string }) {
  return /^https?:\/\//i.test(href) ? (
    <a href={href} rel="noreferrer noopener" target="_blank">
      {href}
    </a>
  ) : (
    <span className="mono">{href}</span>
  );
}

function Governance({ deployment: d }: { deployment: Deployment }) {
  if (d.unreadable) {
    return (
      <Notice kind="warn">
        The governance record kept with this deployment could not be read ({d.unreadable.problem}). As stored:
        <pre style={{ whiteSpace: "pre-wrap" }}>{JSON.stringify(d.unreadable.stored, null, 2)}</pre>
      </Notice>
    );
  }
  const g = d.governance;
  if (!g)
    return (
      <span className="muted">
        No governance record:{" "}
        {d.environment.production ? "deployed before governance applied" : "not a production environment"}.
      </span>
    );
  return (
    <details open={d.environment.production}>
      <summary>
        Governance as it stood at the start
        {g.changeRequest ? ` — ${g.changeRequest.title}` : g.emergency ? " — emergency" : ""}
      </summary>
      <dl className="kv" style={{ margin: "0.5rem 0" }}>
        <dt>Change request</dt>
        <dd>
          {g.changeRequest ? (
            <>
              {g.changeRequest.title} <span className="badge">{g.changeRequest.type}</span> revision{" "}
              {g.changeRequest.revision}, requested by {who(g.changeRequest.requestedBy)}
            </>
          ) : (
            "—"
          )}
        </dd>
        <dt>Maintenance window</dt>
        <dd>
          {g.window ? `${g.window.name}: ${formatDateTime(g.window.start)} – ${formatDateTime(g.window.end)}` : "—"}
        </dd>
        <dt>Emergency</dt>
        <dd>{g.emergency ? `authorised by ${who(g.emergency.authorizedBy)}: ${g.emergency.reason}` : "—"}</dd>
      </dl>
      {g.approvals.length > 0 && (
        <table aria-label={`Approvals of deployment ${d.id}`}>
          <thead>
            <tr>
              <th>Role</th>
              <th>Approver</th>
              <th>Decision</th>
              <th>Reason</th>
              <th>At</th>
            </tr>
          </thead>
          <tbody>
            {g.approvals.map((a, i) => (
              <tr key={i}>
                <td>{a.role}</td>
                <td>{who(a.approver)}</td>
                <td>{a.decision}</td>
                <td>{a.reason ?? "—"}</td>
                <td>{formatDateTime(a.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {g.checklist.length > 0 && (
        <table aria-label={`Checklist of deployment ${d.id}`} style={{ marginTop: "0.5rem" }}>
          <thead>
            <tr>
              <th>Item</th>
              <th>Kind</th>
              <th>Done</th>
              <th>By / at</th>
              <th>Note / link</th>
              <th>Evidence</th>
            </tr>
          </thead>
          <tbody>
            {g.checklist.map((c) => (
              <tr key={c.key}>
                <td>
                  {c.title} <span className="muted mono">{c.key}</span>
                  {c.required ? null : <span className="badge off">optional</span>}
                </td>
                <td>{c.kind}</td>
                <td>{c.done ? "yes" : "no"}</td>
                <td>
                  {who(c.completedBy)}
                  <div className="muted">{formatDateTime(c.completedAt)}</div>
                </td>
                <td>
                  {c.note ?? ""}
                  {c.link && (
                    <div>
                      <ExternalLink href={c.link} />
                    </div>
                  )}
                </td>
                <td>
                  {c.evidence ? (
                    <>
                      {c.evidence.status}
                      {c.evidence.url && (
                        <div>
                          <ExternalLink href={c.evidence.url} />
                        </div>
                      )}
                      <div className="muted">
                        token {c.evidence.token ?? "—"}, {formatDateTime(c.evidence.at)}
                      </div>
                      {c.evidence.details !== null && (
                        <pre style={{ whiteSpace: "pre-wrap", margin: 0 }}>
                          {typeof c.evidence.details === "string"
                            ? c.evidence.details
                            : JSON.stringify(c.evidence.details, null, 2)}
                        </pre>
                      )}
                    </>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
