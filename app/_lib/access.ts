import "server-only";
import { decide, type ProcedurePath } from "@/server/auth/permissions";
import type { PageSession } from "@/server/auth/session-header";

/** Whether the signed-in user may use the procedure a page is built on (the server enforces it anyway). */
export function mayUse(session: PageSession, procedure: ProcedurePath): boolean {
  return decide(procedure, session.roles) === "allowed";
}
