import type { Metadata } from "next";
import { SignInForm } from "./SignInForm";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  const callbackUrl = typeof params.callbackUrl === "string" ? params.callbackUrl : "/";
  const error = typeof params.error === "string" ? params.error : null;
  return (
    <main className="signin-wrap">
      <div className="card signin-card">
        <h1>
          <img src="/greenlight.svg" alt="" width={28} height={28} /> Greenlight
        </h1>
        <p className="muted">Sign in to the release control panel.</p>
        <SignInForm callbackUrl={callbackUrl} initialError={error} />
      </div>
    </main>
  );
}
