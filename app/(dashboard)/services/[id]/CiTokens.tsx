"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useMemo, useState, type FormEvent } from "react";
import { DataTable, dataTableColumns, momentColumn } from "@/components/DataTable";
import { Notice } from "@/components/Notice";
import { SCOPE_LABELS, SCOPES, type Scope } from "@/server/pipelines/scopes";
import type { AppRouter } from "@/server/trpc/root";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import { formText } from "../../../../lib/form-text";
import { formatDate } from "@/lib/format";

const EXPIRY_DAYS = [30, 90, 180, 365];

type TokenRow = inferRouterOutputs<AppRouter>["tokens"]["list"][number];

/** Revoked wins over expired: a revoked token stays revoked whatever its date. */
function tokenState(t: TokenRow, now: number): "revoked" | "expired" | "active" {
  if (t.revokedAt) return "revoked";
  return t.expiresAt !== null && new Date(t.expiresAt).getTime() <= now ? "expired" : "active";
}

/**
 * Per-service API tokens for pipelines (the REST API and the greenlight CLI): scopes and an expiry
 * chosen here, shown once, stored hashed, revocable; their last use is shown.
 */
export function CiTokens({ serviceId }: { serviceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.tokens.list.queryOptions({ serviceId }));
  const invalidate = () => void queryClient.invalidateQueries({ queryKey: trpc.tokens.list.queryKey({ serviceId }) });
  const [shown, setShown] = useState<{ name: string; token: string } | null>(null);
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (t) => (setShown({ name: t.name, token: t.token }), invalidate()),
    }),
  );
  const revoke = useMutation(trpc.tokens.revoke.mutationOptions({ onSuccess: invalidate }));
  // eslint-disable-next-line react-hooks/purity -- "expires in" is read at render; the list re-renders when it changes
  const now = Date.now();

  const columns = useMemo(() => {
    const column = dataTableColumns<TokenRow>();
    return [
      column.accessor("name", { header: "Name", sortFn: "text" }),
      column.accessor("prefix", {
        header: "Token",
        enableSorting: false,
        cell: (info) => <span className="mono">{info.getValue()}…</span>,
      }),
      column.accessor((t) => t.scopes.join(", "), { id: "scopes", header: "Scopes", sortFn: "text" }),
      column.accessor((t) => (t.expiresAt ? new Date(t.expiresAt).getTime() : Number.MAX_SAFE_INTEGER), {
        id: "expires",
        header: "Expires",
        sortFn: "basic",
        cell: (info) => {
          const t = info.row.original;
          if (!t.expiresAt) return <span className="muted">never</span>;
          const expired = tokenState(t, now) === "expired";
          return <span className="muted">{`${expired ? "expired" : "expires"} ${formatDate(t.expiresAt)}`}</span>;
        },
      }),
      momentColumn(column, { id: "lastUsed", header: "Last used", at: (t) => t.lastUsedAt, never: "never used" }),
      column.display({
        id: "actions",
        header: "",
        cell: (info) => {
          const t = info.row.original;
          const state = tokenState(t, now);
          if (state !== "active") return <span className="badge off">{state}</span>;
          return (
            <button
              type="button"
              disabled={revoke.isPending}
              onClick={() =>
                confirm(`Revoke "${t.name}"? Pipelines using it will be refused.`) && revoke.mutate({ id: t.id })
              }
            >
              Revoke
            </button>
          );
        },
      }),
    ];
  }, [now, revoke]);

  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate(
      {
        serviceId,
        name: formText(form, "name"),
        scopes: form.getAll("scopes").map(String) as Scope[],
        expiresInDays: Number(form.get("expiresInDays")),
      },
      { onSuccess: () => (event.target as HTMLFormElement).reset() },
    );
  }

  return (
    <section aria-label="CI tokens">
      <h2>CI tokens</h2>
      <p className="muted">
        Pipelines use these with the <code>greenlight</code> CLI or the REST API (
        <a href="/api/v1/openapi.json">OpenAPI document</a>), as <code>Authorization: Bearer &lt;token&gt;</code>. A
        token never approves a change and never bypasses a maintenance window or the checklist.
      </p>
      {shown && (
        <Notice kind="ok">
          Token “{shown.name}”: <code data-testid="shown-token">{shown.token}</code> — shown once; store it in your CI
          secrets.{" "}
          <button type="button" onClick={() => setShown(null)}>
            Done
          </button>
        </Notice>
      )}
      {(create.error ?? revoke.error) && <Notice kind="error">{errorMessage(create.error ?? revoke.error)}</Notice>}
      {tokens.data && (
        <DataTable
          label="Tokens"
          urlPrefix="tokens-"
          data={tokens.data}
          columns={columns}
          getRowId={(t) => t.id}
          defaultSort={[{ id: "name", desc: false }]}
          rowProps={(t) => ({ "data-testid": `token-${t.name}`, "data-state": tokenState(t, now) })}
        />
      )}
      <form className="row" onSubmit={onCreate} style={{ marginTop: "0.5rem", alignItems: "flex-start" }}>
        <div className="field">
          <label htmlFor="token-name">New token name</label>
          <input id="token-name" name="name" required placeholder="GitHub Actions" />
        </div>
        <fieldset className="field">
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} style={{ display: "block" }}>
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                defaultChecked={scope === "evidence:write" || scope === "read"}
              />{" "}
              <code>{scope}</code> <span className="muted">{SCOPE_LABELS[scope]}</span>
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="token-expiry">Expires after</label>
          <select id="token-expiry" name="expiresInDays" defaultValue="90">
            {EXPIRY_DAYS.map((days) => (
              <option key={days} value={days}>
                {days} days
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <button type="submit" disabled={create.isPending}>
            Create token
          </button>
        </div>
      </form>
    </section>
  );
}
