import "server-only";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { decodeSessionHeader, SESSION_HEADER, type PageSession } from "@/server/auth/session-header";

/** The signed-in user, as the custom server resolved it for this request. */
export async function pageSession(): Promise<PageSession | null> {
  return decodeSessionHeader((await headers()).get(SESSION_HEADER));
}

export async function requirePageSession(): Promise<PageSession> {
  const session = await pageSession();
  if (!session) redirect("/signin");
  return session;
}
