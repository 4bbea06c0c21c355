"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useCallback, useMemo, useState, type FormEvent } from "react";
import { DataTable, dataTableColumns, momentColumn } from "@/components/DataTable";
import { Notice } from "@/components/Notice";
import { RoleBadges } from "@/components/RoleBadges";
import { ROLE_LABELS, ROLES, type Role } from "@/server/auth/roles";
import { errorMessage, useRealtimeEvent, useTRPC } from "../../_lib/trpc";
import { formText } from "../../../lib/form-text";
import type { AppRouter } from "@/server/trpc/root";

type Secret = { email: string; password: string; what: string };
type UserRow = inferRouterOutputs<AppRouter>["users"]["list"][number];

export function UsersAdmin({ currentUserId }: { currentUserId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const users = useQuery(trpc.users.list.queryOptions());
  const invalidate = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() }),
    [queryClient, trpc],
  );
  useRealtimeEvent("users:changed", invalidate);
  const [secret, setSecret] = useState<Secret | null>(null);
  const [editing, setEditing] = useState<string | null>(null);

  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (result) => {
        setSecret({ email: result.user.email, password: result.initialPassword, what: "Initial password" });
        void invalidate();
      },
    }),
  );
  const update = useMutation(
    trpc.users.update.mutationOptions({
      onSuccess: () => {
        setEditing(null);
        void invalidate();
      },
    }),
  );
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onSuccess: (result) =>
        setSecret({ email: result.user.email, password: result.newPassword, what: "New password" }),
    }),
  );

  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate(
      {
        email: formText(form, "email"),
        name: formText(form, "name"),
        roles: form.getAll("roles").map(String) as Role[],
      },
      { onSuccess: () => (event.target as HTMLFormElement).reset() },
    );
  }

  const columns = useMemo(() => {
    const column = dataTableColumns<UserRow>();
    return [
      column.accessor("name", { header: "Name", sortFn: "text", meta: { searchable: true } }),
      column.accessor("email", { header: "E-mail", sortFn: "text", meta: { searchable: true } }),
      column.accessor((user) => user.roles.map((role) => ROLE_LABELS[role]).join(", "), {
        id: "roles",
        header: "Roles",
        sortFn: "text",
        meta: { searchable: true },
        cell: (info) =>
          editing === info.row.original.id ? (
            <RoleEditor
              initial={info.row.original.roles}
              busy={update.isPending}
              onCancel={() => setEditing(null)}
              onSave={(roles) => update.mutate({ id: info.row.original.id, roles })}
            />
          ) : (
            <RoleBadges roles={info.row.original.roles} />
          ),
      }),
      column.accessor((user) => (user.active ? "Active" : "Deactivated"), {
        id: "status",
        header: "Status",
        sortFn: "text",
        cell: (info) => (info.row.original.active ? "Active" : <span className="badge off">Deactivated</span>),
      }),
      momentColumn(column, {
        id: "lastSignIn",
        header: "Last sign-in",
        at: (user) => user.lastSignInAt,
        never: "never",
      }),
      column.display({
        id: "actions",
        header: "",
        cell: (info) => {
          const user = info.row.original;
          return (
            <span style={{ whiteSpace: "nowrap" }}>
              {editing !== user.id && user.provider === "credentials" && (
                <button type="button" onClick={() => setEditing(user.id)}>
                  Edit roles
                </button>
              )}{" "}
              {user.provider === "credentials" && (
                <button
                  type="button"
                  disabled={reset.isPending}
                  onClick={() =>
                    confirm(`Reset the password of ${user.email}? Their sessions end.`) && reset.mutate({ id: user.id })
                  }
                >
                  Reset password
                </button>
              )}{" "}
              {user.id !== currentUserId && (
                <button
                  type="button"
                  disabled={update.isPending}
                  onClick={() =>
                    (user.active
                      ? confirm(
                          `Deactivate ${user.email}? They are signed out everywhere and cannot sign in until someone activates them again.`,
                        )
                      : true) && update.mutate({ id: user.id, active: !user.active })
                  }
                >
                  {user.active ? "Deactivate" : "Activate"}
                </button>
              )}
            </span>
          );
        },
      }),
    ];
  }, [editing, update, reset, currentUserId]);

  const error = create.error ?? update.error ?? reset.error;
  return (
    <>
      {secret && (
        <Notice kind="ok">
          {secret.what} for <strong>{secret.email}</strong>: <code data-testid="shown-password">{secret.password}</code>{" "}
          — shown once; pass it on securely.{" "}
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </Notice>
      )}
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}

      <h2>People</h2>
      {users.isPending ? (
        <p className="muted">Loading…</p>
      ) : users.error ? (
        <Notice kind="error">{errorMessage(users.error)}</Notice>
      ) : (
        <DataTable
          label="Users"
          data={users.data}
          columns={columns}
          getRowId={(user) => user.id}
          searchPlaceholder="Filter people by name, e-mail or role"
          defaultSort={[{ id: "name", desc: false }]}
          rowProps={(user) => ({ "data-testid": `user-${user.email}` })}
        />
      )}

      <h2>Add a person</h2>
      <form className="card" onSubmit={onCreate} aria-label="Add a person">
        <div className="row">
          <div className="field">
            <label htmlFor="new-name">Name</label>
            <input id="new-name" name="name" required />
          </div>
          <div className="field">
            <label htmlFor="new-email">E-mail</label>
            <input id="new-email" name="email" type="email" required />
          </div>
        </div>
        <fieldset style={{ border: "none", padding: 0, margin: "0 0 0.8rem" }}>
          <legend className="muted" style={{ fontSize: "0.85rem" }}>
            Roles
          </legend>
          {ROLES.map((role) => (
            <label
              key={role}
              style={{ display: "inline-flex", gap: "0.3rem", marginRight: "0.9rem", color: "inherit" }}
            >
              <input type="checkbox" name="roles" value={role} /> {ROLE_LABELS[role]}
            </label>
          ))}
        </fieldset>
        <button className="primary" type="submit" disabled={create.isPending}>
          Add person
        </button>
      </form>
    </>
  );
}

function RoleEditor({
  initial,
  busy,
  onSave,
  onCancel,
}: {
  initial: Role[];
  busy: boolean;
  onSave: (roles: Role[]) => void;
  onCancel: () => void;
}) {
  const [roles, setRoles] = useState<Role[]>(initial);
  return (
    <div>
      {ROLES.map((role) => (
        <label key={role} style={{ display: "block", color: "inherit" }}>
          <input
            type="checkbox"
            checked={roles.includes(role)}
            onChange={(e) => setRoles(e.target.checked ? [...roles, role] : roles.filter((r) => r !== role))}
          />{" "}
          {ROLE_LABELS[role]}
        </label>
      ))}
      <button type="button" className="primary" disabled={busy} onClick={() => onSave(roles)}>
        Save
      </button>{" "}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
