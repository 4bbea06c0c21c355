/**
 * Who may hold a Socket.io connection, and what it receives: only requests from the panel's own
 * pages connect; a socket's rooms follow its user's roles; a session that ends takes its sockets
 * with it; and every answer on /socket.io/ carries the security headers.
 */
import type { IncomingMessage } from "node:http";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { sameOrigin, signOutOverHttp, startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { waitFor } from "../helpers/wait.ts";

const SECURITY_HEADERS = {
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
};

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>, what: string) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(headers[name], `${name} on ${what}`).toBe(value);
  expect(headers["content-security-policy"], `content-security-policy on ${what}`).toMatch(/default-src '(self|none)'/);
}

function headersOf(response: Response): Record<string, string> {
  return Object.fromEntries(response.headers.entries());
}

let t: TestPanel;
const sockets: Socket[] = [];
beforeAll(async () => {
  t = await startTestPanel();
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await t?.close();
});

/** A connected socket and every event it received, in order. */
async function connect(
  cookie: string,
  url = t.url,
): Promise<{ socket: Socket; received: string[]; disconnected: Promise<string> }> {
  const socket = io(url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    extraHeaders: { Cookie: cookie, ...sameOrigin(url) },
  });
  sockets.push(socket);
  const received: string[] = [];
  socket.onAny((event: string) => received.push(event));
  const disconnected = new Promise<string>((resolve) => socket.on("disconnect", (reason) => resolve(reason)));
  await new Promise<void>((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("connect_error", reject);
  });
  return { socket, received, disconnected };
}

/**
 * A round trip through the server: whatever it emitted to this socket before answering has arrived
 * by the time the answer does (one connection, in order).
 */
function roundTrip(socket: Socket): Promise<unknown> {
  return new Promise((resolve) => socket.emit("subscribe", ["overview"], resolve));
}

describe("a socket's rooms follow its user's roles", () => {
  it("a demoted administrator's open socket stops receiving administrators' events, and gets them again when promoted", async () => {
    const boss = await t.createUser(["admin"]);
    const other = await t.createUser(["admin"]);
    const watcher = await connect(boss.cookie);
    const demoted = await connect(other.cookie);

    await boss.client.users.create.mutate({ email: `one-${Date.now()}@example.test`, name: "One", roles: ["viewer"] });
    await waitFor(() => watcher.received.includes("users:changed"), "the watcher to see users:changed");
    await roundTrip(demoted.socket);
    expect(demoted.received).toContain("users:changed");

    await boss.client.users.update.mutate({ id: other.id, roles: ["viewer"] });
    const before = { watcher: watcher.received.length, demoted: demoted.received.length };
    await boss.client.users.create.mutate({ email: `two-${Date.now()}@example.test`, name: "Two", roles: ["viewer"] });
    await waitFor(() => watcher.received.length > before.watcher, "the watcher to see the second users:changed");
    await roundTrip(demoted.socket);
    expect(demoted.received.slice(before.demoted)).not.toContain("users:changed");
    expect(demoted.socket.connected).toBe(true);

    await boss.client.users.update.mutate({ id: other.id, roles: ["viewer", "admin"] });
    const promoted = demoted.received.length;
    await boss.client.users.create.mutate({
      email: `three-${Date.now()}@example.test`,
      name: "Three",
      roles: ["viewer"],
    });
    await waitFor(
      () => demoted.received.slice(promoted).includes("users:changed"),
      "the promoted user to see users:changed again",
    );
  });
});

describe("a session that ends closes its sockets", () => {
  it("when the user is deactivated", async () => {
    const boss = await t.createUser(["admin"]);
    const user = await t.createUser(["viewer"]);
    const { disconnected } = await connect(user.cookie);
    await boss.client.users.update.mutate({ id: user.id, active: false });
    expect(await disconnected).toBe("io server disconnect");
  });

  it("when the administrator resets the user's password", async () => {
    const boss = await t.createUser(["admin"]);
    const user = await t.createUser(["viewer"]);
    const { disconnected } = await connect(user.cookie);
    await boss.client.users.resetPassword.mutate({ id: user.id });
    expect(await disconnected).toBe("io server disconnect");
  });

  it("when its session signs out, and no other session's", async () => {
    const user = await t.createUser(["viewer"]);
    const otherCookie = await t.signIn(user.email, user.password);
    const leaving = await connect(user.cookie);
    const staying = await connect(otherCookie);
    await signOut(user.cookie);
    expect(await leaving.disconnected).toBe("io server disconnect");
    await roundTrip(staying.socket);
    expect(staying.socket.connected).toBe(true);
  });

  it("when the user changes their password in another session, keeping the one they changed it from", async () => {
    const user = await t.createUser(["viewer"]);
    const elsewhere = await connect(await t.signIn(user.email, user.password));
    const here = await connect(user.cookie);
    await user.client.me.changePassword.mutate({
      currentPassword: user.password,
      newPassword: "a-brand-new-password-1",
    });
    expect(await elsewhere.disconnected).toBe("io server disconnect");
    await roundTrip(here.socket);
    expect(here.socket.connected).toBe(true);
  });

  it("when it runs out (SESSION_MAX_AGE)", async () => {
    const short = await startTestPanel({ SESSION_MAX_AGE: "3s" });
    try {
      const user = await short.createUser(["viewer"]);
      const { disconnected } = await connect(user.cookie, short.url);
      expect(await disconnected).toBe("io server disconnect");
    } finally {
      await short.close();
    }
  });
});

async function signOut(cookie: string) {
  expect((await signOutOverHttp(t.url, cookie)).status).toBeLessThan(400);
}

/** A raw WebSocket handshake: the answer's status and headers, whether it upgraded or not. */
function upgrade(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${t.url.replace("http", "ws")}${path}`, { headers });
    ws.on("upgrade", (response) => {
      resolve({ status: response.statusCode!, headers: response.headers });
      ws.terminate();
    });
    ws.on("unexpected-response", (_request, response) => {
      resolve({ status: response.statusCode!, headers: response.headers });
      response.resume();
      ws.terminate();
    });
    ws.on("error", (error) => reject(error));
  });
}

describe("Socket.io accepts only the panel's own pages", () => {
  it("refuses a WebSocket upgrade from another site, or with no Origin, even with a valid session", async () => {
    const user = await t.createUser(["viewer"]);
    const origins: Record<string, string>[] = [{ Origin: "https://evil.example" }, {}];
    for (const origin of origins) {
      const socket = io(t.url, {
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
        extraHeaders: { Cookie: user.cookie, ...origin },
      });
      sockets.push(socket);
      const error = await new Promise<Error>((resolve) => socket.on("connect_error", resolve));
      expect(error.message).toMatch(/websocket error/i);
      const raw = await upgrade("/socket.io/?EIO=4&transport=websocket", { Cookie: user.cookie, ...origin });
      expect(raw.status).toBe(403);
    }
  });

  it("refuses long polling from another site, and lets the panel's own pages poll (Origin, or Sec-Fetch-Site for a same-origin GET)", async () => {
    const user = await t.createUser(["viewer"]);
    const handshake = "/socket.io/?EIO=4&transport=polling";
    const refused = await fetch(`${t.url}${handshake}`, {
      headers: { Cookie: user.cookie, Origin: "https://evil.example" },
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: "Cross-site request refused: the Origin https://evil.example is another site",
    });
    expect((await fetch(`${t.url}${handshake}`, { headers: { Cookie: user.cookie } })).status).toBe(403);
    expect(
      (await fetch(`${t.url}${handshake}`, { headers: { Cookie: user.cookie, ...sameOrigin(t.url) } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${t.url}${handshake}`, { headers: { Cookie: user.cookie, "Sec-Fetch-Site": "same-origin" } }))
        .status,
    ).toBe(200);
  });
});

describe("answers on /socket.io/ carry the security headers", () => {
  it("on long polling, on Engine.IO's own refusals, on the WebSocket handshake and on refused upgrades", async () => {
    const user = await t.createUser(["viewer"]);
    const headers = { Cookie: user.cookie, ...sameOrigin(t.url) };
    const polling = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers });
    expect(polling.status).toBe(200);
    expectSecurityHeaders(headersOf(polling), "a polling handshake");
    const unknownTransport = await fetch(`${t.url}/socket.io/?EIO=4&transport=carrier-pigeon`, { headers });
    expect(unknownTransport.status).toBe(400);
    expectSecurityHeaders(headersOf(unknownTransport), "Engine.IO's refusal of an unknown transport");
    const crossSite = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { Origin: "https://evil.example" },
    });
    expectSecurityHeaders(headersOf(crossSite), "a refused cross-site poll");

    const upgraded = await upgrade("/socket.io/?EIO=4&transport=websocket", headers);
    expect(upgraded.status).toBe(101);
    expectSecurityHeaders(upgraded.headers, "the WebSocket handshake (101)");
    const unknownSession = await upgrade("/socket.io/?EIO=4&transport=websocket&sid=no-such-session", headers);
    expect(unknownSession.status).toBe(400);
    expectSecurityHeaders(unknownSession.headers, "Engine.IO's refusal of an unknown session id");
    const refused = await upgrade("/socket.io/?EIO=4&transport=websocket", {
      ...headers,
      Origin: "https://evil.example",
    });
    expect(refused.status).toBe(403);
    expectSecurityHeaders(refused.headers, "a refused cross-site upgrade");
    const elsewhere = await upgrade("/not-a-socket", headers);
    expect(elsewhere.status).toBe(404);
    expectSecurityHeaders(elsewhere.headers, "an upgrade to a path with no WebSocket");
  });
});
