"use client";
/**
 * The browser's tRPC client (TanStack Query integration) and the real-time connection. Socket events
 * are hints: they invalidate or update cached queries, and TanStack Query stays the source of truth.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { io, type Socket } from "socket.io-client";
import superjson from "superjson";
import type { AppRouter } from "@/server/trpc/root";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

const SocketContext = createContext<Socket | null>(null);

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // Authorisation and validation failures will not fix themselves by retrying.
        retry: (count, error) => !(error instanceof TRPCClientError && [400, 401, 403, 404].includes(error.data?.httpStatus)) && count < 2,
      },
    },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() => createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: "/api/trpc", transformer: superjson })] }));
  const [socket, setSocket] = useState<Socket | null>(null);
  useEffect(() => {
    const s = io({ transports: ["websocket", "polling"] });
    setSocket(s);
    return () => {
      s.disconnect();
    };
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <SocketContext.Provider value={socket}>{children}</SocketContext.Provider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}

/** Calls `handler` for each `event` pushed by the panel while the component is mounted. */
export function useRealtimeEvent<T = unknown>(event: string, handler: (payload: T) => void, rooms: string[] = []): void {
  const socket = useContext(SocketContext);
  const roomKey = rooms.join(",");
  useEffect(() => {
    if (!socket) return;
    const subscribe = () => {
      if (roomKey) socket.emit("subscribe", roomKey.split(","));
    };
    subscribe();
    socket.on("connect", subscribe);
    socket.on(event, handler);
    return () => {
      socket.off("connect", subscribe);
      socket.off(event, handler);
      if (roomKey) socket.emit("unsubscribe", roomKey.split(","));
    };
  }, [socket, event, handler, roomKey]);
}

/** The message of a failed call, as the server worded it (it names the field). */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
