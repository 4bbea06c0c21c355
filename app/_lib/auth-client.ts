"use client";
/** Sign-in and sign-out against next-auth's endpoints, staying on whatever origin the panel is reached at. */

async function csrfToken(): Promise<string> {
  const response = await fetch("/api/auth/csrf", { cache: "no-store" });
  const body = (await response.json()) as { csrfToken: string };
  return body.csrfToken;
}

export type SignInResult = { ok: true } | { ok: false; message: string };

export async function signInWithPassword(email: string, password: string, callbackUrl: string): Promise<SignInResult> {
  const response = await fetch("/api/auth/callback/credentials", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email, password, csrfToken: await csrfToken(), callbackUrl, json: "true" }),
  });
  const body = (await response.json().catch(() => ({}))) as { url?: string; message?: string };
  if (response.status === 429)
    return { ok: false, message: body.message ?? "Too many failed sign-ins. Try again later." };
  const error = body.url ? new URL(body.url, window.location.href).searchParams.get("error") : "Unknown";
  if (!response.ok || error) return { ok: false, message: "Wrong e-mail or password, or the account is deactivated." };
  return { ok: true };
}

/** Starts single sign-on: next-auth answers with the identity provider's URL, which we navigate to. */
export async function startSingleSignOn(callbackUrl: string): Promise<void> {
  const response = await fetch("/api/auth/signin/oidc", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken: await csrfToken(), callbackUrl, json: "true" }),
  });
  const body = (await response.json()) as { url: string };
  window.location.assign(body.url);
}

export async function signOut(): Promise<void> {
  await fetch("/api/auth/signout", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken: await csrfToken(), json: "true" }),
  });
  window.location.assign("/signin");
}

/** Only paths of the panel's own origin are followed after sign-in (parsed as the browser parses them). */
export { safeCallbackPath as safeCallbackUrl } from "@/server/auth/callback-url";
