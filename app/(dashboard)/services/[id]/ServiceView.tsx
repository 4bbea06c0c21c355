"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useMemo, useState, type FormEvent } from "react";
import type { inferRouterOutputs } from "@trpc/server";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { Notice } from "@/components/Notice";
import type { AppRouter } from "@/server/trpc/root";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import { ChecklistTemplate } from "./ChecklistTemplate";
import { CiTokens } from "./CiTokens";
import { EcsTargetPanel } from "./EcsTargetPanel";
import { EnvironmentSettings } from "./EnvironmentSettings";
import { PrometheusSettings } from "./PrometheusSettings";
import { formText } from "../../../../lib/form-text";
import type { Permissions } from "./permissions";

type ServiceDetail = inferRouterOutputs<AppRouter>["services"]["get"];
type ReleaseRow = ServiceDetail["releases"][number];

export function ServiceView({ serviceId, can }: { serviceId: string; can: Permissions }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const service = useQuery(trpc.services.get.queryOptions({ id: serviceId }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.services.get.queryKey({ id: serviceId }) });
  const deploy = useMutation(
    trpc.deployments.start.mutationOptions({ onSuccess: (d) => router.push(`/deployments/${d.id}`) }),
  );
  // An earlier version back into production: a change request of its own, then the usual gates.
  const redeploy = useMutation(
    trpc.changes.requestRedeploy.mutationOptions({ onSuccess: (cr) => router.push(`/approvals?change=${cr.id}`) }),
  );
  const traffic = useMutation(
    trpc.environments.setTrafficGenerator.mutationOptions({ onSuccess: () => void invalidate() }),
  );
  const [settingsFor, setSettingsFor] = useState<string | null>(null);
  // Stable, so the releases' columns are built again only when what they show changes.
  const { mutate: startDeployment } = deploy;
  const { mutate: requestRedeploy } = redeploy;
  const onDeploy = useCallback(
    (releaseId: string, environmentId: string) =>
      startDeployment({ releaseId, environmentId, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }),
    [startDeployment],
  );
  const onRedeploy = useCallback(
    (releaseId: string, environmentId: string) => requestRedeploy({ releaseId, environmentId }),
    [requestRedeploy],
  );

  if (service.error) return <Notice kind="error">{errorMessage(service.error)}</Notice>;
  if (!service.data) return <p className="muted">Loading…</p>;
  const s = service.data;
  const error = deploy.error ?? redeploy.error ?? traffic.error;

  return (
    <>
      <h1>{s.name}</h1>
      {s.description && <p className="muted">{s.description}</p>}
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}

      <h2>Environments</h2>
      <div className="env-grid">
        {s.environments.map((env) => (
          <div key={env.id} className="env-card" data-testid={`environment-${env.name}`}>
            <h3>
              <span>
                {env.position + 1}. {env.name}
              </span>
              <span className="muted" style={{ fontSize: "0.8rem", fontWeight: 400 }}>
                {env.target}
                {env.production ? " · production" : ""}
              </span>
            </h3>
            <dl className="kv">
              <dt>Live</dt>
              <dd>{env.liveRelease ? `${env.liveRelease.version} on ${env.liveSlot}` : "nothing yet"}</dd>
              {env.endpoint && (
                <>
                  <dt>Endpoint</dt>
                  <dd className="mono">{env.endpoint}</dd>
                </>
              )}
              <dt>Steps</dt>
              <dd>
                {env.policy.steps.join(" → ")}% · bake {env.policy.bakeSeconds} s
              </dd>
              {env.target === "local" && (
                <>
                  <dt>Traffic</dt>
                  <dd>
                    {env.trafficGenerator ? `generator on (${env.trafficRate}/s)` : "generator off"}{" "}
                    {can.traffic && (
                      <button
                        type="button"
                        disabled={traffic.isPending}
                        onClick={() => traffic.mutate({ environmentId: env.id, enabled: !env.trafficGenerator })}
                      >
                        {env.trafficGenerator ? "Stop traffic" : "Start traffic"}
                      </button>
                    )}
                  </dd>
                </>
              )}
            </dl>
            <p style={{ marginBottom: 0 }}>
              <button type="button" onClick={() => setSettingsFor(settingsFor === env.id ? null : env.id)}>
                {settingsFor === env.id ? "Hide settings" : "Settings"}
              </button>
            </p>
          </div>
        ))}
      </div>
      {settingsFor && (
        <EnvironmentSettings
          key={settingsFor}
          environment={s.environments.find((e) => e.id === settingsFor)!}
          can={can}
          onSaved={() => void invalidate()}
        />
      )}
      {settingsFor && (
        <div className="card" style={{ marginTop: "1rem" }}>
          <ChecklistTemplate
            key={`checklist-${settingsFor}`}
            environmentId={settingsFor}
            canEdit={can.checklistTemplate}
          />
        </div>
      )}
      {settingsFor &&
        (() => {
          const env = s.environments.find((e) => e.id === settingsFor)!;
          return (
            (env.target === "ecs" || can.configureTarget) && (
              <EcsTargetPanel key={`ecs-${settingsFor}`} environment={env} canConfigure={can.configureTarget} />
            )
          );
        })()}
      {settingsFor && can.prometheus && (
        <PrometheusSettings
          key={`prometheus-${settingsFor}`}
          environment={s.environments.find((e) => e.id === settingsFor)!}
          canConfigure={can.configurePrometheus}
        />
      )}

      <div className="section-head">
        <h2>Releases</h2>
      </div>
      {can.createRelease && <NewRelease serviceId={serviceId} onCreated={() => void invalidate()} />}
      {s.releases.length === 0 ? (
        <p className="muted">No releases yet.</p>
      ) : (
        <ReleaseTable
          service={s}
          can={can}
          busy={deploy.isPending}
          redeployBusy={redeploy.isPending}
          onDeploy={onDeploy}
          onRedeploy={onRedeploy}
        />
      )}
      <p>
        <Link href={`/deployments?service=${serviceId}`}>All deployments of {s.name}</Link>
        {can.history && (
          <>
            {" · "}
            <Link href={`/services/${serviceId}/history`}>Deployment history with approvals and evidence</Link>
          </>
        )}
      </p>
      {can.tokens && <CiTokens serviceId={serviceId} />}
    </>
  );
}

/**
 * The service's releases (the newest 100, newest first until a column is sorted): by version, or by how far
 * along the environments each one has succeeded; searched by version, artifact or commit.
 */
function ReleaseTable({
  service: s,
  can,
  busy,
  redeployBusy,
  onDeploy,
  onRedeploy,
}: {
  service: ServiceDetail;
  can: Permissions;
  busy: boolean;
  redeployBusy: boolean;
  onDeploy: (releaseId: string, environmentId: string) => void;
  onRedeploy: (releaseId: string, environmentId: string) => void;
}) {
  const columns = useMemo(() => {
    const column = dataTableColumns<ReleaseRow>();
    const environments = s.environments;
    return [
      column.accessor("version", {
        header: "Version",
        // Semver-ish: 1.10.0 after 1.9.0.
        sortFn: "alphanumeric",
        meta: { searchable: true },
        cell: (info) => (
          <>
            <strong>{info.getValue()}</strong>
            {info.row.original.notes && <div className="muted">{info.row.original.notes}</div>}
          </>
        ),
      }),
      column.accessor("artifact", {
        header: "Artifact",
        sortFn: "text",
        meta: { searchable: true },
        cell: (info) => <span className="mono">{info.getValue()}</span>,
      }),
      column.accessor((r) => r.commitSha ?? "", {
        id: "commit",
        header: "Commit",
        enableSorting: false,
        meta: { searchable: true },
        cell: (info) => <span className="mono">{info.row.original.commitSha?.slice(0, 10) ?? "—"}</span>,
      }),
      column.display({
        id: "settings",
        header: "Settings",
        cell: (info) => {
          const settings = info.row.original.settings as object;
          return <span className="mono">{Object.keys(settings).length ? JSON.stringify(settings) : "—"}</span>;
        },
      }),
      // How far along the promotion order it got: the furthest environment it succeeded in; never, last.
      column.accessor(
        (r) => {
          const reached = environments.filter((e) => r.succeededIn.includes(e.id)).map((e) => e.position);
          return reached.length ? Math.max(...reached) : undefined;
        },
        {
          id: "succeeded",
          header: "Succeeded in",
          sortFn: "basic",
          sortUndefined: "last",
          cell: (info) =>
            environments
              .filter((e) => info.row.original.succeededIn.includes(e.id))
              .map((e) => e.name)
              .join(", ") || "—",
        },
      ),
      column.display({
        id: "deploy",
        header: "Deploy",
        cell: (info) => {
          const release = info.row.original;
          return (
            <span style={{ whiteSpace: "nowrap" }}>
              {can.deploy &&
                environments.map((env, i) => {
                  const previous = environments[i - 1];
                  const live = env.liveReleaseId === release.id;
                  // The server decides (an authorised emergency lifts the promotion order); the hint says what it will ask.
                  const notPromoted = previous !== undefined && !release.succeededIn.includes(previous.id);
                  return (
                    <button
                      key={env.id}
                      type="button"
                      disabled={live || busy}
                      className={notPromoted ? "muted" : undefined}
                      title={
                        live ? "Already live here" : notPromoted ? `Not yet succeeded in ${previous?.name}` : undefined
                      }
                      onClick={() => onDeploy(release.id, env.id)}
                      style={{ marginRight: "0.3rem" }}
                    >
                      {env.name}
                    </button>
                  );
                })}
              {can.redeploy &&
                environments
                  .filter(
                    (env) => env.production && env.liveReleaseId !== release.id && release.succeededIn.includes(env.id),
                  )
                  .map((env) => (
                    <button
                      key={`redeploy-${env.id}`}
                      type="button"
                      disabled={redeployBusy}
                      title={`${release.version} succeeded in ${env.name} before: request a change to return to it`}
                      onClick={() => onRedeploy(release.id, env.id)}
                    >
                      Redeploy to {env.name}…
                    </button>
                  ))}
            </span>
          );
        },
      }),
    ];
  }, [s.environments, can.deploy, can.redeploy, busy, redeployBusy, onDeploy, onRedeploy]);

  return (
    <DataTable
      label="Releases"
      urlPrefix="releases-"
      data={s.releases}
      columns={columns}
      getRowId={(r) => r.id}
      searchPlaceholder="Filter by version, artifact or commit"
      rowProps={(r) => ({ "data-testid": `release-${r.version}` })}
    />
  );
}

function NewRelease({ serviceId, onCreated }: { serviceId: string; onCreated: () => void }) {
  const trpc = useTRPC();
  const create = useMutation(trpc.releases.create.mutationOptions({ onSuccess: onCreated }));
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    const num = (name: string) => (formText(f, name).trim() === "" ? undefined : Number(f.get(name)));
    const failurePercent = num("failurePercent");
    create.mutate(
      {
        serviceId,
        version: formText(f, "version"),
        artifact: formText(f, "artifact"),
        commitSha: formText(f, "commitSha").trim() || undefined,
        notes: formText(f, "notes"),
        settings: {
          failureRate: failurePercent === undefined ? undefined : failurePercent / 100,
          latencyMs: num("latencyMs"),
        },
      },
      { onSuccess: () => (event.target as HTMLFormElement).reset() },
    );
  }
  return (
    <form className="card" onSubmit={onSubmit} aria-label="New release" style={{ marginBottom: "1rem" }}>
      {create.error && <Notice kind="error">{errorMessage(create.error)}</Notice>}
      <div className="row">
        <div className="field">
          <label htmlFor="rel-version">Version</label>
          <input id="rel-version" name="version" required placeholder="1.4.2" />
        </div>
        <div className="field">
          <label htmlFor="rel-artifact">Artifact</label>
          <input id="rel-artifact" name="artifact" required placeholder="registry/app:1.4.2" />
        </div>
        <div className="field">
          <label htmlFor="rel-commit">Commit</label>
          <input id="rel-commit" name="commitSha" placeholder="a1b2c3d" />
        </div>
        <div className="field">
          <label htmlFor="rel-failure">Failure rate % (demo)</label>
          <input
            id="rel-failure"
            name="failurePercent"
            type="number"
            min={0}
            max={100}
            step="any"
            style={{ width: "7rem" }}
          />
        </div>
        <div className="field">
          <label htmlFor="rel-latency">Added latency ms (demo)</label>
          <input id="rel-latency" name="latencyMs" type="number" min={0} max={60000} style={{ width: "7rem" }} />
        </div>
      </div>
      <div className="field">
        <label htmlFor="rel-notes">Notes</label>
        <input id="rel-notes" name="notes" />
      </div>
      <button className="primary" type="submit" disabled={create.isPending}>
        Add release
      </button>
    </form>
  );
}
