"use client";
/**
 * An environment's Prometheus: where the gates read requests, errors and latency instead of the
 * target's own figures. Administrators edit it (saving runs the queries against Prometheus first and
 * shows its own error for a bad one); release managers see it. The bearer token is never shown.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import { formText } from "../../../../lib/form-text";

const QUERIES = [
  ["requestsQuery", "Requests (a counter's series)"],
  ["errorsQuery", "Errors (the failed requests' series)"],
  ["latencyQuery", "Latency (a histogram's _bucket series, in seconds)"],
] as const;

export function PrometheusSettings({
  environment,
  canConfigure,
}: {
  environment: { id: string; name: string };
  canConfigure: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = trpc.environments.prometheus.queryKey({ environmentId: environment.id });
  const current = useQuery(trpc.environments.prometheus.queryOptions({ environmentId: environment.id }));
  const [notice, setNotice] = useState<string | null>(null);
  const tokenInput = useRef<HTMLInputElement>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: key });
  const save = useMutation(
    // eslint-disable-next-line react-hooks/refs -- the token input's ref is read in the success callback, after the save, never during render
    trpc.environments.setPrometheus.mutationOptions({
      onSuccess: ({ dryRun }) => {
        const found = QUERIES.map(
          ([field, label]) =>
            `${label.split(" ")[0]!.toLowerCase()} ${dryRun[field].blue} on blue, ${dryRun[field].green} on green`,
        ).join("; ");
        setNotice(`Saved. The dry run's series: ${found}.`);
        // The token is not kept in the page once the server has it.
        if (tokenInput.current) tokenInput.current.value = "";
        refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.environments.removePrometheus.mutationOptions({
      onSuccess: () => (setNotice("Removed: the gates read the target's own figures again."), refresh()),
    }),
  );

  if (current.error) return <Notice kind="error">{errorMessage(current.error)}</Notice>;
  if (!current.data) return <p className="muted">Loading…</p>;
  const s = current.data;

  function onSave(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setNotice(null);
    const f = new FormData(event.currentTarget);
    const token = formText(f, "bearerToken");
    save.mutate({
      environmentId: environment.id,
      url: formText(f, "url"),
      // Empty keeps the stored token; "remove" drops it.
      ...(f.get("removeToken") ? { bearerToken: null } : token ? { bearerToken: token } : {}),
      requestsQuery: formText(f, "requestsQuery"),
      errorsQuery: formText(f, "errorsQuery"),
      latencyQuery: formText(f, "latencyQuery"),
      outageLimitSeconds:
        formText(f, "outageLimitSeconds").trim() === "" ? Number.NaN : Number(f.get("outageLimitSeconds")),
    });
  }

  const id = (name: string) => `${environment.id}-prometheus-${name}`;
  const error = save.error ?? remove.error;
  return (
    <section className="card" style={{ marginTop: "1rem" }} aria-label={`Prometheus of ${environment.name}`}>
      <h2 style={{ marginTop: 0 }}>{environment.name}: metrics from Prometheus</h2>
      <p className="muted">
        {s.configured ? (
          <>
            The gates read requests, errors and latency from <span className="mono">{s.url}</span>
            {s.hasBearerToken ? " (with a bearer token)" : ""}, not from the target.
          </>
        ) : (
          "The gates read the target's own figures. Name a Prometheus to judge releases on its series instead."
        )}{" "}
        Each query selects one slot&apos;s series; <span className="mono">{"{{slot}}"}</span>,{" "}
        <span className="mono">{"{{service}}"}</span> and <span className="mono">{"{{environment}}"}</span> are filled
        in, and the panel sums <span className="mono">increase()</span> over each window.
      </p>
      {notice && !error && <Notice kind="ok">{notice}</Notice>}
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
      <form onSubmit={onSave} aria-label="Prometheus settings">
        <div className="row">
          <div className="field">
            <label htmlFor={id("url")}>Prometheus URL</label>
            <input
              id={id("url")}
              name="url"
              defaultValue={s.url ?? ""}
              placeholder="http://prometheus:9090"
              disabled={!canConfigure}
              style={{ width: "22rem" }}
            />
          </div>
          <div className="field">
            <label htmlFor={id("token")}>Bearer token</label>
            <input
              ref={tokenInput}
              id={id("token")}
              name="bearerToken"
              type="password"
              autoComplete="off"
              placeholder={s.hasBearerToken ? "set (leave empty to keep)" : "none"}
              disabled={!canConfigure}
            />
          </div>
          {s.hasBearerToken && canConfigure && (
            <div className="field">
              <label>
                <input type="checkbox" name="removeToken" /> Remove the token
              </label>
            </div>
          )}
          <div className="field">
            <label htmlFor={id("limit")}>Fail after no answer for (s)</label>
            <input
              id={id("limit")}
              name="outageLimitSeconds"
              type="number"
              defaultValue={s.outageLimitSeconds}
              disabled={!canConfigure}
              style={{ width: "7rem" }}
            />
          </div>
        </div>
        {QUERIES.map(([field, label]) => (
          <div className="field" key={field}>
            <label htmlFor={id(field)}>{label}</label>
            <textarea
              id={id(field)}
              name={field}
              rows={2}
              style={{ width: "100%" }}
              className="mono"
              defaultValue={s[field]}
              disabled={!canConfigure}
            />
          </div>
        ))}
        {canConfigure && (
          <p>
            <button type="submit" className="primary" disabled={save.isPending}>
              {save.isPending ? "Checking with Prometheus…" : "Check and save"}
            </button>{" "}
            {s.configured && (
              <button
                type="button"
                disabled={remove.isPending}
                onClick={() => remove.mutate({ environmentId: environment.id })}
              >
                Stop using Prometheus
              </button>
            )}
          </p>
        )}
      </form>
    </section>
  );
}
