/**
 * Malformed requests as an attacker or a broken client sends them, byte for byte over a raw socket:
 * request targets the panel must refuse itself, and request lines and headers Node's parser refuses.
 * Every one must get an answer (never a hang, never a crash) with the panel's security headers.
 * Used by the integration tier (API only) and the browser tier (with the UI).
 */
import net from "node:net";

export interface MalformedCase {
  name: string;
  /** The raw bytes up to and including the blank line (and any body). */
  raw: string;
  /** Statuses that are a right answer. */
  expect: number[];
}

const close = "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";

export const MALFORMED_REQUESTS: MalformedCase[] = [
  { name: "empty path segment target //", raw: `GET // HTTP/1.1\r\n${close}`, expect: [400] },
  {
    name: "another origin in the target //evil.example/phish",
    raw: `GET //evil.example/phish HTTP/1.1\r\n${close}`,
    expect: [400],
  },
  { name: "backslash after the first slash", raw: `GET /\\evil.example/phish HTTP/1.1\r\n${close}`, expect: [400] },
  { name: "truncated UTF-8 escape in a tRPC path", raw: `GET /api/trpc/%E0%A4%A HTTP/1.1\r\n${close}`, expect: [400] },
  { name: "overlong UTF-8 escape in an auth path", raw: `GET /api/auth/%C0%AF HTTP/1.1\r\n${close}`, expect: [400] },
  { name: "invalid escape in a page path", raw: `GET /%zz HTTP/1.1\r\n${close}`, expect: [400] },
  {
    name: "truncated escape in an evidence path",
    raw: `POST /api/v1/releases/%E0/evidence HTTP/1.1\r\nContent-Length: 2\r\n${close}{}`,
    expect: [400],
  },
  {
    name: "truncated escape in a tRPC mutation",
    raw: `POST /api/trpc/me.get%E0 HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n${close}{}`,
    expect: [400],
  },
  {
    name: "absolute-form target (a proxy request)",
    raw: `GET http://evil.example/ HTTP/1.1\r\n${close}`,
    expect: [400],
  },
  { name: "asterisk-form target", raw: `OPTIONS * HTTP/1.1\r\n${close}`, expect: [400] },
  { name: "garbage instead of a request line", raw: `GARBAGE\r\n\r\n`, expect: [400] },
  { name: "a request line with a fourth part", raw: `GET /health HTTP/1.1 extra\r\n${close}`, expect: [400] },
  { name: "an unknown HTTP version", raw: `GET /health HTTP/9.9\r\n${close}`, expect: [400, 505] },
  { name: "a header without a colon", raw: `GET /health HTTP/1.1\r\nX-Broken\r\n${close}`, expect: [400] },
  {
    name: "a control character in a header value",
    raw: `GET /health HTTP/1.1\r\nX-Control: a\u0001b\r\n${close}`,
    expect: [400],
  },
  {
    name: "headers over the size limit",
    raw: `GET /health HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n${close}`,
    expect: [431],
  },
  {
    name: "Content-Length beside Transfer-Encoding (request smuggling)",
    raw: `POST /api/trpc/me.get HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n${close}0\r\n\r\n`,
    expect: [400],
  },
  {
    name: "two different Content-Lengths",
    raw: `POST /api/trpc/me.get HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n${close}{}`,
    expect: [400],
  },
  {
    name: "a Content-Length that is not a number",
    raw: `POST /api/trpc/me.get HTTP/1.1\r\nContent-Length: two\r\n${close}{}`,
    expect: [400],
  },
];

export interface RawAnswer {
  status: number | null;
  headers: Record<string, string>;
  /** Everything received, for messages. */
  text: string;
}

/** Sends `raw` on a fresh connection and reads until the server closes it (or `timeoutMs` passes: status null). */
export function sendRaw(host: string, port: number, raw: string, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = "";
    const socket = net.connect(port, host, () => socket.write(raw, "latin1"));
    const done = () => {
      clearTimeout(timer);
      const head = text.split("\r\n\r\n")[0] ?? "";
      const [statusLine, ...lines] = head.split("\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1];
      const headers = Object.fromEntries(
        lines
          .map((line) => [
            line.slice(0, line.indexOf(":")).trim().toLowerCase(),
            line.slice(line.indexOf(":") + 1).trim(),
          ])
          .filter(([name]) => name),
      );
      resolve({ status: status ? Number(status) : null, headers, text });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done();
    }, timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("close", done);
    socket.on("error", () => {});
  });
}
