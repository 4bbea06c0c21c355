/**
 * The load the verdicts benchmark keeps on the panel while it judges releases, from a process of its
 * own: `count` signed-in Socket.io clients, each subscribed to one of the environments' rooms (so every
 * metrics event of every environment fans out), and a loop requesting the deployment page (rendered
 * by the server) of the deployment the parent names last. Reports what it did when told to stop.
 *
 *   node --import tsx bench/verdicts-load.ts <panel url> <cookie> <clients> <env id,env id,…>
 *   IPC in: { type: "page", path } | { type: "stop" }   IPC out: { type: "ready" } | { type: "done", pages, pageErrors, events }
 */
import http from "node:http";
import { io, type Socket } from "socket.io-client";

const [url, cookie, countArg, envsArg] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countArg);
const environments = envsArg.split(",").filter(Boolean);
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
let page: string | null = null;
let stopped = false;
let pages = 0;
let pageErrors = 0;
let events = 0;
const sockets: Socket[] = [];

function requestPage(path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(`${url}${path}`, { agent, headers: { Cookie: cookie } }, (res) => {
      res.resume();
      res.on("end", () => {
        if ((res.statusCode ?? 500) >= 400) pageErrors++;
        else pages++;
        resolve();
      });
    });
    req.on("error", () => {
      pageErrors++;
      resolve();
    });
  });
}

async function pageLoop(): Promise<void> {
  while (!stopped) {
    if (page) await requestPage(page);
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function connect(): Promise<void> {
  for (let i = 0; i < count; i++) {
    const socket = io(url, {
      transports: ["websocket"],
      reconnection: true,
      forceNew: true,
      extraHeaders: { Cookie: cookie, Origin: new URL(url).origin },
    });
    sockets.push(socket);
    socket.on("metrics", () => events++);
  }
  // A thousand handshakes on a busy machine: a client whose first attempt times out tries again (reconnection is
  // on), so only the deadline for all of them fails the load.
  let subscribed = 0;
  const all = Promise.all(
    sockets.map(
      (socket, i) =>
        new Promise<void>((resolve) => {
          socket.once("connect", () =>
            socket.emit("subscribe", [`env:${environments[i % environments.length]}`], () => {
              subscribed++;
              resolve();
            }),
          );
        }),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `only ${subscribed} of ${count} clients connected and subscribed within ${CONNECT_DEADLINE_MS / 1000} s`,
          ),
        ),
      CONNECT_DEADLINE_MS,
    );
  });
  await Promise.race([all, deadline]).finally(() => clearTimeout(timer));
}

const CONNECT_DEADLINE_MS = 300_000;

process.on("message", (message: { type: string; path?: string }) => {
  if (message.type === "page" && message.path) page = message.path;
  if (message.type === "stop") {
    stopped = true;
    for (const socket of sockets) socket.close();
    agent.destroy();
    process.send!({ type: "done", pages, pageErrors, events }, () => process.exit(0));
  }
});

connect().then(
  () => {
    process.send!({ type: "ready" });
    void pageLoop();
  },
  (error: Error) => {
    process.send!({ type: "error", message: error.message });
    process.exit(1);
  },
);
