/**
 * The typed way for tests to call the panel: tRPC's own client, over real HTTP, compiled against
 * AppRouter (a renamed procedure or a changed input breaks the test's build, not its run).
 */
import { createTRPCClient, httpLink, TRPCClientError, type TRPCClient } from "@trpc/client";
import superjson from "superjson";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../../server/trpc/root.ts";

export type PanelClient = TRPCClient<AppRouter>;
/** What a procedure takes and answers, e.g. RouterOutputs["deployments"]["get"]: named from AppRouter, never written by hand. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** A client that signs its calls with `cookie` (none: anonymous) and comes from the panel's own origin. */
export function panelClient(baseUrl: string, cookie?: string): PanelClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${baseUrl}/api/trpc`,
        transformer: superjson,
        headers: () => ({ Origin: new URL(baseUrl).origin, ...(cookie ? { Cookie: cookie } : {}) }),
      }),
    ],
  });
}

export interface Refusal {
  status: number;
  code: string;
  /** For people: names the field in words. */
  message: string;
  /** For machines: the field's name, and for input that failed validation each failing path's problem. */
  field: string | null;
  fieldErrors: Record<string, string> | null;
}

/** How a call that must fail was refused; throws if it succeeded, or failed without an answer from the panel. */
export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (error) {
    return refusalOf(error);
  }
  throw new Error("the call succeeded, but it should have been refused");
}

/** The panel's refusal in a client error; anything else (no answer at all) is thrown on. */
export function refusalOf(error: unknown): Refusal {
  if (error instanceof TRPCClientError) {
    const data = (error as TRPCClientError<AppRouter>).data as
      | { httpStatus?: number; code?: string; field?: string | null; fieldErrors?: Record<string, string> | null }
      | undefined;
    if (data?.httpStatus)
      return {
        status: data.httpStatus,
        code: data.code ?? "",
        message: error.message,
        field: data.field ?? null,
        fieldErrors: data.fieldErrors ?? null,
      };
  }
  throw error;
}

/** A call's outcome either way, for races where one of several calls must win and the others be refused. */
export type Answer<T> =
  | { status: 200; data: T; message?: undefined; field?: undefined; fieldErrors?: undefined }
  | (Refusal & { data?: undefined });

export async function answer<T>(call: Promise<T>): Promise<Answer<T>> {
  let data: T;
  try {
    data = await call;
  } catch (error) {
    return refusalOf(error);
  }
  return { status: 200, data };
}
