"use client";
/**
 * Sign-in and sign-out in the browser, through next-auth/react. On the client its requests go to the
 * relative /api/auth/…, so the panel stays on whatever origin it is reached at; only where a page goes
 * afterwards is ours (the callback is checked by `safeCallbackUrl`, and sign-out always lands on
 * /signin rather than on a URL built from NEXTAUTH_URL).
 */
import { getProviders, signIn, signOut as endSession } from "next-auth/react";

export type SignInResult = { ok: true } | { ok: false; message: string };

/** What the sign-in page says for next-auth's error codes and ours (the throttle's TooManyAttempts). */
const SIGN_IN_ERRORS: Record<string, string> = {
  CredentialsSignin: "Wrong e-mail or password, or the account is deactivated.",
  AccessDenied: "Your account is not allowed to sign in here.",
  TooManyAttempts: "Too many failed sign-ins. Try again later.",
  SessionRequired: "Please sign in to continue.",
};

export function signInErrorMessage(code: string): string {
  return SIGN_IN_ERRORS[code] ?? "Sign-in failed. Please try again.";
}

/**
 * A password sign-in without leaving the page. next-auth answers a refused password with 200 and an
 * error code in its URL, and the throttle (server/http/auth-route.ts) with 429 and TooManyAttempts.
 */
export async function signInWithPassword(email: string, password: string, callbackUrl: string): Promise<SignInResult> {
  const result = await signIn("credentials", { email, password, callbackUrl, redirect: false });
  // No answer: next-auth could not read the providers and is already on its way to its error page.
  if (!result) return { ok: false, message: "The panel could not be reached. Check your connection and try again." };
  if (result.ok && !result.error) return { ok: true };
  return { ok: false, message: signInErrorMessage(result.error ?? (result.status === 429 ? "TooManyAttempts" : "")) };
}

/** Whether single sign-on is configured (the server lists an `oidc` provider). */
export async function singleSignOnOffered(): Promise<boolean> {
  const providers = await getProviders();
  return Boolean(providers?.oidc);
}

/** Starts single sign-on: next-auth answers with the identity provider's URL and goes there. */
export async function startSingleSignOn(callbackUrl: string): Promise<void> {
  await signIn("oidc", { callbackUrl });
}

export async function signOut(): Promise<void> {
  await endSession({ redirect: false });
  window.location.assign("/signin");
}

/** Only paths of the panel's own origin are followed after sign-in (parsed as the browser parses them). */
export { safeCallbackPath as safeCallbackUrl } from "@/server/auth/callback-url";
