/**
 * Requests Node's HTTP parser refuses before the panel sees them (a malformed request line or header,
 * headers over the size limit, a request that took too long to arrive). Node's own answer is a bare
 * status line; ours carries the security headers every other answer carries and a body that says what
 * was wrong, then closes the connection.
 */
import type { Duplex } from "node:stream";
import { writeRawAnswer } from "./raw-answer.ts";

interface ParserError extends Error {
  code?: string;
}

/** The status for a parser error: 431 for headers over the limit, 408 for a slow request, else 400. */
export function clientErrorStatus(code: string | undefined): { status: number; text: string; detail: string } {
  if (code === "HPE_HEADER_OVERFLOW")
    return {
      status: 431,
      text: "Request Header Fields Too Large",
      detail: "the request headers are larger than the server accepts",
    };
  if (code === "ERR_HTTP_REQUEST_TIMEOUT")
    return { status: 408, text: "Request Timeout", detail: "the request did not arrive in time" };
  return { status: 400, text: "Bad Request", detail: "the request is not valid HTTP" };
}

export function answerClientError(error: ParserError, socket: Duplex): void {
  // A reset connection, or one we already answered, has nobody left to tell.
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, text, detail } = clientErrorStatus(error.code);
  writeRawAnswer(socket, status, text, `${text}: ${detail}`);
}
