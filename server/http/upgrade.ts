/**
 * WebSocket upgrades: the real-time channel (/socket.io/) and, in development, Next.js's hot reload.
 * An upgrade is checked like any request (its target parses, and for /socket.io/ it comes from the
 * panel's own pages: see same-origin.ts) before it is handed on; a refusal is an HTTP answer with the
 * security headers. Engine.IO writes its own refusals of protocol errors (an unknown session id, a
 * transport it does not offer) straight to the socket; those get the security headers stamped in.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Services } from "../services.ts";
import { REALTIME_PATH } from "../realtime/server.ts";
import { SECURITY_HEADER_LINES, writeRawAnswer } from "./raw-answer.ts";
import { parseRequestTarget } from "./request-target.ts";
import { checkSameOrigin, type OriginPolicy } from "./same-origin.ts";

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The first thing written on an upgraded socket is the answer's head; an error answer gets the headers. */
function stampSecurityHeadersOnRefusal(socket: Duplex): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the socket as `this`
  const write = socket.write;
  socket.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
    socket.write = write;
    const stamped =
      typeof chunk === "string" && /^HTTP\/1\.1 [45]\d\d /.test(chunk)
        ? chunk.replace("\r\n", `\r\n${SECURITY_HEADER_LINES}`)
        : chunk;
    return (write as (...args: unknown[]) => boolean).call(this, stamped, ...rest);
  } as Duplex["write"];
}

export function createUpgradeListener(
  services: Services,
  options: { originPolicy: OriginPolicy; next: UpgradeListener | null },
): UpgradeListener {
  return (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const target = parseRequestTarget(req.url);
    if (!target.ok) return writeRawAnswer(socket, 400, "Bad Request", `Bad request: ${target.reason}`);
    if (target.url.pathname === REALTIME_PATH) {
      const origin = checkSameOrigin(req.headers, options.originPolicy);
      if (!origin.ok) return writeRawAnswer(socket, 403, "Forbidden", `Cross-site request refused: ${origin.reason}`);
      if (!services.realtime)
        return writeRawAnswer(socket, 503, "Service Unavailable", "The real-time channel is not started yet");
      stampSecurityHeadersOnRefusal(socket);
      return services.realtime.handleUpgrade(req, socket, head);
    }
    if (options.next) return options.next(req, socket, head);
    writeRawAnswer(socket, 404, "Not Found", `No WebSocket endpoint at ${target.url.pathname}`);
  };
}
