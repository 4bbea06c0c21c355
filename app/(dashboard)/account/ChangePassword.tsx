"use client";
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { formText } from "../../../lib/form-text";

export function ChangePassword() {
  const trpc = useTRPC();
  const change = useMutation(trpc.me.changePassword.mutationOptions());
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    change.mutate(
      { currentPassword: formText(form, "currentPassword"), newPassword: formText(form, "newPassword") },
      { onSuccess: () => (event.target as HTMLFormElement).reset() },
    );
  }
  return (
    <form className="card" onSubmit={onSubmit} style={{ maxWidth: 420 }}>
      {change.isSuccess && <Notice kind="ok">Password changed.</Notice>}
      {change.error && <Notice kind="error">{errorMessage(change.error)}</Notice>}
      <div className="field">
        <label htmlFor="currentPassword">Current password</label>
        <input id="currentPassword" name="currentPassword" type="password" autoComplete="current-password" required />
      </div>
      <div className="field">
        <label htmlFor="newPassword">New password (at least 12 characters)</label>
        <input id="newPassword" name="newPassword" type="password" autoComplete="new-password" required />
      </div>
      <button className="primary" type="submit" disabled={change.isPending}>
        Change password
      </button>
    </form>
  );
}
