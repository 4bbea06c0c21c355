/**
 * Socket.io on the panel's own HTTP server. Only signed-in users connect; each socket joins its
 * user's room, its session's room and one room per role, and may subscribe to environment and
 * deployment rooms. With REDIS_URL, the Redis adapter fans events out to clients of every panel
 * instance.
 *
 * The rooms a socket holds follow its user: a role change moves the user's sockets out of the rooms
 * of roles they lost (and into those they gained), and a session that ends (sign-out, a password
 * change or reset, deactivation, or its expiry) closes its sockets. Both work across instances
 * through the adapter.
 *
 * Engine.IO is bound here but does not attach itself to the HTTP server: the panel's front door
 * (server/http/handler.ts and upgrade.ts) hands it /socket.io/ requests and upgrades after its own
 * checks (origin, security headers, trace id, metrics).
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Server as EngineServer } from "engine.io";
import type { Logger } from "pino";
import { Server, type DefaultEventsMap } from "socket.io";
import { ROLES, type Role } from "../roles.ts";
import type { CheckResult } from "../telemetry/health.ts";
import type { PanelMetrics } from "../telemetry/metrics.ts";

/** Who a socket belongs to: what the realtime server needs of a signed-in session (auth gives it). */
export interface SocketUser {
  id: string;
  roles: readonly Role[];
  sessionId: string;
  sessionExpiresAt: Date;
}

export type RoomName =
  `user:${string}` | `session:${string}` | `role:${string}` | `env:${string}` | `deployment:${string}` | "overview";

export type SessionSelector = { sessionId: string } | { userId: string; exceptSessionId?: string };

export const REALTIME_PATH = "/socket.io/";

const SUBSCRIBABLE = /^(env|deployment):[\w-]{1,64}$|^overview$/;

/** Node's timers cannot wait longer than this; a longer session is re-checked when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Realtime {
  io: Server;
  emit(room: RoomName, event: string, payload: unknown): void;
  /** A /socket.io/ HTTP request (long polling), already checked by the front door. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** A /socket.io/ WebSocket upgrade, already checked by the front door. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  endSessions(selector: SessionSelector): void;
  setRoles(userId: string, roles: readonly Role[]): void;
  redisHealth(): Promise<CheckResult>;
  websocketHealth(): Promise<CheckResult>;
  close(): Promise<void>;
}

export interface RealtimeOptions {
  authenticate(cookieHeader: string | undefined): Promise<SocketUser | null>;
  /** Headers every answer carries (the security headers); added to the WebSocket handshake's 101. */
  responseHeaders: Record<string, string>;
  redisUrl: string | undefined;
  log: Logger;
  metrics: PanelMetrics;
}

// The Redis client and adapter are loaded only by a panel configured with Redis: a quarter of a
// CPU-second at every start of every other panel.
async function connectRedis(url: string, log: Logger) {
  const { createClient } = await import("redis");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const client of [pub, sub])
    client.on("error", (error: Error) =>
      log.warn({ action: "realtime.redis_error", metadata: { error: error.message } }, "Redis connection error"),
    );
  await Promise.all([pub.connect(), sub.connect()]);
  return { pub, sub };
}

function roleRooms(roles: readonly string[]): RoomName[] {
  return roles.map((role) => `role:${role}` as const);
}

export async function attachRealtime(httpServer: HttpServer, options: RealtimeOptions): Promise<Realtime> {
  const engine = new EngineServer();
  // Polling answers get the headers from the front door; the WebSocket handshake's 101 gets them here.
  engine.on("headers", (headers: Record<string, string>) => Object.assign(headers, options.responseHeaders));
  const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, { user?: SocketUser }>({
    serveClient: false,
    cors: { origin: false },
  });
  io.bind(engine);
  const redis = options.redisUrl ? await connectRedis(options.redisUrl, options.log) : null;
  if (redis) io.adapter((await import("@socket.io/redis-adapter")).createAdapter(redis.pub, redis.sub));

  io.use((socket, next) => {
    options.authenticate(socket.request.headers.cookie).then(
      (user) => {
        if (!user) return next(new Error("unauthorized: sign in first"));
        socket.data.user = user;
        next();
      },
      (error: unknown) => next(error instanceof Error ? error : new Error(String(error))),
    );
  });

  io.on("connection", (socket) => {
    const user = socket.data.user!;
    options.metrics.openSockets.inc();
    void socket.join([`user:${user.id}`, `session:${user.sessionId}`, ...roleRooms(user.roles)]);
    // A session that runs out closes its sockets, as the next request would be refused.
    const expiry = setTimeout(
      () => socket.disconnect(true),
      Math.min(MAX_TIMER_MS, Math.max(0, user.sessionExpiresAt.getTime() - Date.now())),
    );
    expiry.unref();
    socket.on("subscribe", (rooms: unknown, ack?: (result: { joined: string[]; refused: string[] }) => void) => {
      const list = Array.isArray(rooms) ? rooms.filter((r): r is string => typeof r === "string") : [];
      const joined = list.filter((room) => SUBSCRIBABLE.test(room));
      void socket.join(joined);
      if (typeof ack === "function") ack({ joined, refused: list.filter((room) => !joined.includes(room)) });
    });
    socket.on("unsubscribe", (rooms: unknown) => {
      if (Array.isArray(rooms))
        for (const room of rooms) if (typeof room === "string" && SUBSCRIBABLE.test(room)) void socket.leave(room);
    });
    socket.on("disconnect", () => {
      clearTimeout(expiry);
      options.metrics.openSockets.dec();
    });
  });

  return {
    io,
    emit(room, event, payload) {
      io.to(room).emit(event, payload);
    },
    handleRequest(req, res) {
      engine.handleRequest(req, res);
    },
    handleUpgrade(req, socket, head) {
      engine.handleUpgrade(req, socket, head);
    },
    endSessions(selector) {
      const sockets =
        "sessionId" in selector
          ? io.in(`session:${selector.sessionId}`)
          : io
              .in(`user:${selector.userId}`)
              .except(selector.exceptSessionId ? `session:${selector.exceptSessionId}` : []);
      sockets.disconnectSockets(true);
    },
    setRoles(userId, roles) {
      const user = io.in(`user:${userId}`);
      user.socketsLeave(roleRooms(ROLES.filter((role) => !roles.includes(role))));
      user.socketsJoin(roleRooms(roles));
    },
    async redisHealth() {
      if (!redis) return "skipped";
      if (!redis.pub.isReady || !redis.sub.isReady) return "not connected to Redis";
      const pong = await redis.pub.ping();
      return pong === "PONG" ? "healthy" : `unexpected answer to PING: ${pong}`;
    },
    websocketHealth() {
      return Promise.resolve(httpServer.listening ? "healthy" : "the HTTP server is not listening");
    },
    async close() {
      io.disconnectSockets(true);
      await io.close();
      if (redis) await Promise.allSettled([redis.pub.quit(), redis.sub.quit()]);
    },
  };
}
