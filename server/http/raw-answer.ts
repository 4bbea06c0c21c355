/**
 * An HTTP answer written straight to a socket, for the places where there is no ServerResponse:
 * requests Node's parser refused, and upgrades (WebSocket) the panel refuses. It carries the
 * security headers every other answer carries and a JSON body saying what was wrong, and closes
 * the connection.
 */
import type { Duplex } from "node:stream";
import { STATIC_SECURITY_HEADERS } from "./security-headers.ts";

/** Nothing on such an answer is a page: it may load nothing at all. */
const RAW_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The security headers of an answer that is not a page (a WebSocket handshake, a refusal). */
export const RAW_SECURITY_HEADERS: Record<string, string> = {
  ...STATIC_SECURITY_HEADERS,
  "Content-Security-Policy": RAW_CSP,
};

/** The same as header lines, for answers written by code that is not ours (Engine.IO). */
export const SECURITY_HEADER_LINES = Object.entries(RAW_SECURITY_HEADERS)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join("");

export function writeRawAnswer(socket: Duplex, status: number, statusText: string, message: string): void {
  const body = JSON.stringify({ error: message });
  const headers = {
    ...RAW_SECURITY_HEADERS,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    "Cache-Control": "no-store",
    Connection: "close",
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\n${head}\r\n${body}`);
}
