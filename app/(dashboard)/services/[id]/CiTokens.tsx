"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../../_lib/trpc";

/** Per-service API tokens CI uses to post checklist evidence; shown once, stored hashed, revocable. */
export function CiTokens({ serviceId }: { serviceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.checklist.tokens.queryOptions({ serviceId }));
  const invalidate = () => void queryClient.invalidateQueries({ queryKey: trpc.checklist.tokens.queryKey({ serviceId }) });
  const [shown, setShown] = useState<{ name: string; token: string } | null>(null);
  const create = useMutation(trpc.checklist.createToken.mutationOptions({ onSuccess: (t) => (setShown({ name: t.name, token: t.token }), invalidate()) }));
  const revoke = useMutation(trpc.checklist.revokeToken.mutationOptions({ onSuccess: invalidate }));

  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate({ serviceId, name: String(new FormData(event.currentTarget).get("name")) }, { onSuccess: () => (event.target as HTMLFormElement).reset() });
  }

  return (
    <section aria-label="CI tokens">
      <h2>CI tokens</h2>
      <p className="muted">
        CI posts checklist evidence with <code>POST /api/v1/releases/&lt;release id&gt;/evidence</code> and <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      {shown && (
        <Notice kind="ok">
          Token “{shown.name}”: <code data-testid="shown-token">{shown.token}</code> — shown once; store it in your CI secrets.{" "}
          <button type="button" onClick={() => setShown(null)}>
            Done
          </button>
        </Notice>
      )}
      {(create.error ?? revoke.error) && <Notice kind="error">{errorMessage(create.error ?? revoke.error)}</Notice>}
      <table aria-label="Tokens">
        <tbody>
          {tokens.data?.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td className="mono">{t.prefix}…</td>
              <td className="muted">created {new Date(t.createdAt).toLocaleDateString()}</td>
              <td className="muted">{t.lastUsedAt ? `last used ${new Date(t.lastUsedAt).toLocaleString()}` : "never used"}</td>
              <td>
                {t.revokedAt ? (
                  <span className="badge off">revoked</span>
                ) : (
                  <button type="button" disabled={revoke.isPending} onClick={() => confirm(`Revoke "${t.name}"? CI using it will be refused.`) && revoke.mutate({ id: t.id })}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row" onSubmit={onCreate} style={{ marginTop: "0.5rem" }}>
        <div className="field">
          <label htmlFor="token-name">New token name</label>
          <input id="token-name" name="name" required placeholder="GitHub Actions" />
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
