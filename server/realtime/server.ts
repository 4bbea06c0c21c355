/**
 * Socket.io on the panel's own HTTP server. Only signed-in users connect; each socket joins its
 * user's room and one room per role, and may subscribe to environment and deployment rooms. With
 * REDIS_URL, the Redis adapter fans events out to clients of every panel instance.
 */
import type { Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import type { Logger } from "pino";
import { createClient } from "redis";
import { Server } from "socket.io";
import type { SessionUser } from "../auth/session.ts";
import type { CheckResult } from "../telemetry/health.ts";
import type { PanelMetrics } from "../telemetry/metrics.ts";

export type RoomName = `user:${string}` | `role:${string}` | `env:${string}` | `deployment:${string}` | "overview";

const SUBSCRIBABLE = /^(env|deployment):[\w-]{1,64}$|^overview$/;

export interface Realtime {
  io: Server;
  emit(room: RoomName, event: string, payload: unknown): void;
  redisHealth(): Promise<CheckResult>;
  websocketHealth(): Promise<CheckResult>;
  close(): Promise<void>;
}

export interface RealtimeOptions {
  authenticate(cookieHeader: string | undefined): Promise<SessionUser | null>;
  redisUrl: string | undefined;
  log: Logger;
  metrics: PanelMetrics;
}

async function connectRedis(url: string, log: Logger) {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on("error", (error: Error) => log.warn({ action: "realtime.redis_error", metadata: { error: error.message } }, "Redis connection error"));
  await Promise.all([pub.connect(), sub.connect()]);
  return { pub, sub };
}

export async function attachRealtime(httpServer: HttpServer, options: RealtimeOptions): Promise<Realtime> {
  const io = new Server(httpServer, { serveClient: false, cors: { origin: false } });
  const redis = options.redisUrl ? await connectRedis(options.redisUrl, options.log) : null;
  if (redis) io.adapter(createAdapter(redis.pub, redis.sub));

  io.use(async (socket, next) => {
    try {
      const user = await options.authenticate(socket.request.headers.cookie);
      if (!user) return next(new Error("unauthorized: sign in first"));
      socket.data.user = user;
      next();
    } catch (error) {
      next(error as Error);
    }
  });

  io.on("connection", (socket) => {
    const user = socket.data.user as SessionUser;
    options.metrics.openSockets.inc();
    void socket.join([`user:${user.id}`, ...user.roles.map((role) => `role:${role}`)]);
    socket.on("subscribe", (rooms: unknown, ack?: (result: { joined: string[]; refused: string[] }) => void) => {
      const list = Array.isArray(rooms) ? rooms.filter((r): r is string => typeof r === "string") : [];
      const joined = list.filter((room) => SUBSCRIBABLE.test(room));
      void socket.join(joined);
      if (typeof ack === "function") ack({ joined, refused: list.filter((room) => !joined.includes(room)) });
    });
    socket.on("unsubscribe", (rooms: unknown) => {
      if (Array.isArray(rooms)) for (const room of rooms) if (typeof room === "string" && SUBSCRIBABLE.test(room)) void socket.leave(room);
    });
    socket.on("disconnect", () => options.metrics.openSockets.dec());
  });

  return {
    io,
    emit(room, event, payload) {
      io.to(room).emit(event, payload);
    },
    async redisHealth() {
      if (!redis) return "skipped";
      if (!redis.pub.isReady || !redis.sub.isReady) return "not connected to Redis";
      const pong = await redis.pub.ping();
      return pong === "PONG" ? "healthy" : `unexpected answer to PING: ${pong}`;
    },
    async websocketHealth() {
      return httpServer.listening ? "healthy" : "the HTTP server is not listening";
    },
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      if (redis) await Promise.allSettled([redis.pub.quit(), redis.sub.quit()]);
    },
  };
}
