/** Calling tRPC procedures over plain HTTP, as any client would, with superjson encoding. */
import superjson from "superjson";
import { sameOrigin } from "./http-auth.ts";

export interface TrpcResponse<T = unknown> {
  status: number;
  data?: T;
  error?: { message: string; code: string; data: { httpStatus: number; field: string | null; code: string } };
}

async function decode<T>(response: Response): Promise<TrpcResponse<T>> {
  const body = (await response.json()) as { result?: { data: unknown }; error?: { json: TrpcResponse["error"] } };
  if (body.error) return { status: response.status, error: body.error.json };
  return { status: response.status, data: superjson.deserialize<T>(body.result!.data as never) };
}

export async function trpcQuery<T = unknown>(
  baseUrl: string,
  path: string,
  input: unknown,
  cookie?: string,
): Promise<TrpcResponse<T>> {
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  return decode<T>(await fetch(`${baseUrl}/api/trpc/${path}${query}`, { headers: cookie ? { Cookie: cookie } : {} }));
}

export async function trpcMutation<T = unknown>(
  baseUrl: string,
  path: string,
  input: unknown,
  cookie?: string,
): Promise<TrpcResponse<T>> {
  return decode<T>(
    await fetch(`${baseUrl}/api/trpc/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...sameOrigin(baseUrl), ...(cookie ? { Cookie: cookie } : {}) },
      body: JSON.stringify(superjson.serialize(input)),
    }),
  );
}
