"use client";
/**
 * The browser's tRPC client (TanStack Query integration) and the real-time connection. Socket events
 * are hints: they invalidate or update cached queries, and TanStack Query stays the source of truth.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { io, type Socket } from "socket.io-client";
import superjson from "superjson";
import type { ServerEventName, ServerToClientEvents } from "@/server/realtime/event-map";
import type { AppRouter } from "@/server/trpc/root";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

const SocketContext = createContext<Socket | null>(null);

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // Authorisation and validation failures will not fix themselves by retrying.
        retry: (count, error) =>
          !(
            error instanceof TRPCClientError &&
            [400, 401, 403, 404].includes((error.data as { httpStatus?: number } | undefined)?.httpStatus ?? 0)
          ) && count < 2,
      },
    },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: "/api/trpc", transformer: superjson })] }),
  );
  const [socket, setSocket] = useState<Socket | null>(null);
  useEffect(() => {
    // One connection per tab, opened in the browser only (never during the server render).
    const s = io({ transports: ["websocket", "polling"] });
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the socket exists only after mount, by design
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

/**
 * Rooms a socket is in, counted by the components that asked: the socket joins a room when the first
 * asks and leaves when the last lets go, so one component unmounting (or re-rendering) never takes a
 * room from another. After a reconnect the socket joins every counted room again. Each room keeps the
 * server's confirmation of its latest join, for whoever must know the room is joined (useRoomsJoined).
 */
interface HeldRooms {
  counts: Map<string, number>;
  /** Settles when the server has confirmed the room's latest join. */
  joined: Map<string, Promise<void>>;
}
const heldRooms = new WeakMap<Socket, HeldRooms>();

function join(socket: Socket, held: HeldRooms, rooms: string[]): void {
  const confirmed = new Promise<void>((resolve) => socket.emit("subscribe", rooms, () => resolve()));
  for (const room of rooms) held.joined.set(room, confirmed);
}

function holdRooms(socket: Socket, rooms: string[]): () => void {
  let held = heldRooms.get(socket);
  if (!held) {
    const created: HeldRooms = { counts: new Map(), joined: new Map() };
    held = created;
    heldRooms.set(socket, created);
    // Registered before any component's own "connect" listener, so a room is joined again before they hear of it.
    socket.on("connect", () => {
      if (created.counts.size) join(socket, created, [...created.counts.keys()]);
    });
  }
  const { counts } = held;
  const joining = rooms.filter((room) => (counts.get(room) ?? 0) === 0);
  for (const room of rooms) counts.set(room, (counts.get(room) ?? 0) + 1);
  if (joining.length && socket.connected) join(socket, held, joining);
  return () => {
    const leaving = rooms.filter((room) => {
      const left = (counts.get(room) ?? 1) - 1;
      if (left > 0) counts.set(room, left);
      else {
        counts.delete(room);
        held.joined.delete(room);
      }
      return left <= 0;
    });
    if (leaving.length && socket.connected) socket.emit("unsubscribe", leaving);
  };
}

/** Settles once the server has confirmed the latest join of every one of `rooms` the socket holds. */
function roomsJoined(socket: Socket, rooms: string[]): Promise<void> {
  const held = heldRooms.get(socket);
  return Promise.all(rooms.map((room) => held?.joined.get(room) ?? Promise.resolve())).then(() => undefined);
}

/**
 * Calls `handler` for each `event` pushed by the panel while the component is mounted. The rooms are
 * held while the component is mounted (and `rooms` the same), not re-joined when `handler` changes.
 * Events in ServerToClientEvents get their payload type; others (not typed yet) leave it to the handler.
 */
export function useRealtimeEvent<E extends string>(
  event: E,
  handler: (payload: E extends ServerEventName ? ServerToClientEvents[E] : never) => void,
  rooms: string[] = [],
): void {
  const socket = useContext(SocketContext);
  const roomKey = rooms.join(",");
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  }, [handler]);
  useEffect(() => {
    if (!socket || !roomKey) return;
    return holdRooms(socket, roomKey.split(","));
  }, [socket, roomKey]);
  useEffect(() => {
    if (!socket) return;
    const name: string = event;
    const listener = (...args: unknown[]) => latest.current(args[0] as never);
    socket.on(name, listener);
    return () => {
      socket.off(name, listener);
    };
  }, [socket, event]);
}

/**
 * Calls `onJoined` each time the socket has joined `rooms` (on mount, and after every reconnect), once
 * the server confirms it. Whatever a page fetched before that moment may have missed an event sent to
 * the rooms before they were joined, so the page fetches again then. The rooms are held (counted)
 * while the component is mounted, like useRealtimeEvent's: one join per room, however many ask.
 */
export function useRoomsJoined(rooms: string[], onJoined: () => void): void {
  const socket = useContext(SocketContext);
  const roomKey = rooms.join(",");
  const latest = useRef(onJoined);
  useEffect(() => {
    latest.current = onJoined;
  }, [onJoined]);
  useEffect(() => {
    if (!socket || !roomKey) return;
    const held = roomKey.split(",");
    const release = holdRooms(socket, held);
    let mounted = true;
    const whenJoined = () => {
      void roomsJoined(socket, held).then(() => {
        if (mounted) latest.current();
      });
    };
    if (socket.connected) whenJoined();
    socket.on("connect", whenJoined);
    return () => {
      mounted = false;
      socket.off("connect", whenJoined);
      release();
    };
  }, [socket, roomKey]);
}

/** The message of a failed call, as the server worded it (it names the field). */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
