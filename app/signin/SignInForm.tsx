"use client";
import { useEffect, useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import {
  safeCallbackUrl,
  signInErrorMessage,
  signInWithPassword,
  singleSignOnOffered,
  startSingleSignOn,
} from "../_lib/auth-client";
import { formText } from "../../lib/form-text";

export function SignInForm({ callbackUrl, initialError }: { callbackUrl: string; initialError: string | null }) {
  const [error, setError] = useState<string | null>(initialError ? signInErrorMessage(initialError) : null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);

  useEffect(() => {
    void singleSignOnOffered().then(setSso);
  }, []);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const result = await signInWithPassword(
        formText(form, "email"),
        formText(form, "password"),
        safeCallbackUrl(callbackUrl),
      );
      if (result.ok) window.location.assign(safeCallbackUrl(callbackUrl));
      else setError(result.message);
    } catch {
      setError("The panel could not be reached. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      {error && (
        <Notice kind="error" role="alert">
          {error}
        </Notice>
      )}
      <form onSubmit={(event) => void onSubmit(event)} noValidate>
        <div className="field">
          <label htmlFor="email">E-mail</label>
          <input id="email" name="email" type="email" autoComplete="username" required autoFocus />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required />
        </div>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {sso && (
        <p>
          <button
            type="button"
            style={{ width: "100%" }}
            onClick={() => void startSingleSignOn(safeCallbackUrl(callbackUrl))}
          >
            Sign in with single sign-on
          </button>
        </p>
      )}
    </>
  );
}
