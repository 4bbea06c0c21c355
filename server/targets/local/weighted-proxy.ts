/**
 * One environment's front door: a reverse proxy (http-proxy-3) on its own port that sends each
 * request to blue or green by the current weights, the way an ALB listener's weighted forward action
 * does. A client stays on one slot through the `gl_slot` cookie while that slot has traffic; WebSocket
 * upgrades follow the same choice. Every proxied HTTP request's slot, status and latency goes to the
 * metrics recorder; an upstream that cannot be reached answers 502 and counts as an error of its slot.
 *
 * Weights and upstream ports change at runtime without dropping anything: a request's upstream is
 * chosen when it arrives, so in-flight requests finish where they started.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { createProxyServer, type ProxyServer } from "http-proxy-3";
import type { Logger } from "pino";
import type { Slot, Weights } from "../driver.ts";
import type { MetricsRecorder } from "./metrics-recorder.ts";

export const SLOT_COOKIE = "gl_slot";
export const SLOT_HEADER = "x-greenlight-slot";

interface Upstream {
  protocol: "http:";
  host: string;
  port: number;
}

/** Our per-request state, kept on the request object (no allocation of a side table per request). */
interface Tagged extends http.IncomingMessage {
  glSlot?: Slot;
  glSetCookie?: boolean;
  glFailed?: boolean;
}

const COOKIE_PATTERN = /(?:^|;\s*)gl_slot=(blue|green)(?=;|\s|$)/;
const SET_COOKIE: Record<Slot, string> = {
  blue: `${SLOT_COOKIE}=blue; Path=/; HttpOnly; SameSite=Lax`,
  green: `${SLOT_COOKIE}=green; Path=/; HttpOnly; SameSite=Lax`,
};

export function slotFromCookie(header: string | undefined): Slot | null {
  if (!header) return null;
  const match = COOKIE_PATTERN.exec(header);
  return match ? (match[1] as Slot) : null;
}

/** The slot for a request: its cookie's while that slot has traffic, else a weighted draw. */
export function chooseSlot(weights: Weights, sticky: Slot | null, random: number = Math.random()): Slot {
  if (sticky && weights[sticky] > 0) return sticky;
  return random * 100 < weights.blue ? "blue" : "green";
}

export function validateWeights(weights: Weights): void {
  const { blue, green } = weights;
  for (const [slot, value] of [
    ["blue", blue],
    ["green", green],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 100)
      throw new RangeError(`The ${slot} weight must be an integer from 0 to 100 (got ${value}).`);
  }
  if (blue + green !== 100) throw new RangeError(`Weights must add up to 100 (got ${blue} + ${green}).`);
}

export interface WeightedProxyOptions {
  recorder: MetricsRecorder;
  /** Interface the proxy listens on and the upstreams are reached at. */
  host?: string;
  weights?: Weights;
  log?: Logger;
  /** An upstream that has not answered after this long gets a 502 (default 60 s). */
  upstreamTimeoutMs?: number;
}

export class WeightedProxy {
  private weightsNow: Weights;
  private readonly upstreams: Record<Slot, Upstream | null> = { blue: null, green: null };
  private readonly recorder: MetricsRecorder;
  private readonly host: string;
  private readonly log: Logger | undefined;
  private readonly agent: http.Agent;
  private readonly proxy: ProxyServer;
  private readonly server: http.Server;
  private listeningPort: number | null = null;

  constructor(options: WeightedProxyOptions) {
    this.recorder = options.recorder;
    this.host = options.host ?? "127.0.0.1";
    this.log = options.log;
    const weights = options.weights ?? { blue: 100, green: 0 };
    validateWeights(weights);
    this.weightsNow = { ...weights };
    // LIFO keeps a few hot connections per upstream; idle ones close before the upstream's own
    // keep-alive timeout (the agent also honours the upstream's `Keep-Alive: timeout=` hint).
    this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: "lifo", timeout: 30_000 });
    this.proxy = createProxyServer({ agent: this.agent, proxyTimeout: options.upstreamTimeoutMs ?? 60_000 });
    this.proxy.on("proxyRes", this.onProxyRes);
    // Errors have per-call callbacks; this catches the rest (client sockets of WebSockets).
    this.proxy.on("error", (error) => this.log?.debug({ err: error }, "proxy socket error"));
    this.server = http.createServer(this.onRequest);
    // Clients' idle keep-alive connections stay open a minute, as an ALB's do; clients that pool for
    // less (the traffic generator: 30 s) never reuse a connection the proxy is closing.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on("upgrade", this.onUpgrade);
    this.server.on("clientError", (_error, socket) => socket.destroy());
  }

  get port(): number | null {
    return this.listeningPort;
  }

  get weights(): Weights {
    return { ...this.weightsNow };
  }

  setWeights(weights: Weights): void {
    validateWeights(weights);
    this.weightsNow = { blue: weights.blue, green: weights.green };
  }

  /** Where `slot`'s requests go from now on (null: nowhere, they get 502). */
  setUpstream(slot: Slot, port: number | null): void {
    this.upstreams[slot] = port === null ? null : { protocol: "http:", host: this.host, port };
  }

  upstreamPort(slot: Slot): number | null {
    return this.upstreams[slot]?.port ?? null;
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.server.off("listening", onListening);
        reject(error);
      };
      const onListening = () => {
        this.server.off("error", onError);
        this.listeningPort = (this.server.address() as { port: number }).port;
        resolve(this.listeningPort);
      };
      this.server.once("error", onError);
      this.server.once("listening", onListening);
      this.server.listen(port, this.host);
    });
  }

  /** Stops accepting; idle connections close now, busy ones get `graceMs` to finish. */
  close(graceMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        this.agent.destroy();
        return resolve();
      }
      const force = setTimeout(() => this.server.closeAllConnections(), graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        this.agent.destroy();
        this.listeningPort = null;
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private readonly onRequest = (incoming: http.IncomingMessage, res: http.ServerResponse): void => {
    const req = incoming as Tagged;
    const started = performance.now();
    const sticky = slotFromCookie(req.headers.cookie);
    const slot = chooseSlot(this.weightsNow, sticky);
    req.glSlot = slot;
    req.glSetCookie = slot !== sticky;
    res.once("close", () => {
      // A client that hung up before the answer is not the slot's fault (499, as nginx logs it).
      const status = req.glFailed ? 502 : res.writableFinished ? res.statusCode : 499;
      this.recorder.record(slot, status, performance.now() - started);
    });
    const target = this.upstreams[slot];
    if (!target) {
      req.glFailed = true;
      badGateway(res, slot, "no process runs in this slot");
      return;
    }
    this.proxy.web(req, res, { target }, this.onWebError);
  };

  private readonly onProxyRes = (proxyRes: http.IncomingMessage, incoming: http.IncomingMessage): void => {
    const req = incoming as Tagged;
    if (!req.glSlot) return;
    proxyRes.headers[SLOT_HEADER] = req.glSlot;
    if (req.glSetCookie) {
      const existing = proxyRes.headers["set-cookie"];
      proxyRes.headers["set-cookie"] = existing ? [...existing, SET_COOKIE[req.glSlot]] : [SET_COOKIE[req.glSlot]];
    }
  };

  private readonly onWebError = (
    error: Error,
    incoming: http.IncomingMessage,
    res: http.ServerResponse | Socket,
  ): void => {
    const req = incoming as Tagged;
    req.glFailed = true;
    if (!(res instanceof http.ServerResponse)) return;
    if (res.headersSent) res.destroy();
    else badGateway(res, req.glSlot ?? "blue", (error as NodeJS.ErrnoException).code ?? error.message);
  };

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    const slot = chooseSlot(this.weightsNow, slotFromCookie(req.headers.cookie));
    const target = this.upstreams[slot];
    socket.on("error", () => socket.destroy());
    if (!target) {
      socket.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    // A WebSocket holds its connection for good: a fresh one, not one of the pool's.
    this.proxy.ws(req, socket, head, { target, agent: false }, (error) => {
      this.log?.debug({ err: error, slot }, "WebSocket proxy error");
      if (!socket.destroyed) socket.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
  };
}

function badGateway(res: http.ServerResponse, slot: Slot, detail: string): void {
  const body = JSON.stringify({ error: "bad gateway", slot, detail });
  res.writeHead(502, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    [SLOT_HEADER]: slot,
  });
  res.end(body);
}
