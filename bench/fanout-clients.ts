/**
 * The clients of the fan-out benchmark, in their own process: `count` Socket.io (or plain ws)
 * clients that record, for every event, how long after it was sent it arrived.
 */
import WebSocket from "ws";
import { io, type Socket } from "socket.io-client";

const [mode, url, countArg, expectedArg, cookie] = process.argv.slice(2);
const count = Number(countArg);
const expected = Number(expectedArg);
const latencies: number[] = [];
let received = 0;
const now = () => performance.timeOrigin + performance.now();

function onMessage(payload: { sentAt: number }): void {
  latencies.push(now() - payload.sentAt);
  received++;
  if (received === count * expected) done();
}

function done(): void {
  process.send!({ type: "result", latencies }, () => process.exit(0));
}

async function connectSocketIo(): Promise<void> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = io(url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      extraHeaders: { Cookie: cookie!, Origin: new URL(url!).origin },
    });
    sockets.push(socket);
    socket.on("metrics", onMessage);
  }
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          socket.on("connect_error", reject);
          socket.on("connect", () => socket.emit("subscribe", ["env:bench"], () => resolve()));
        }),
    ),
  );
}

async function connectWs(): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, () => {
      const ws = new WebSocket(url!);
      ws.on("message", (data: Buffer) => onMessage(JSON.parse(data.toString("utf8")) as { sentAt: number }));
      return new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
    }),
  );
}

(mode === "ws" ? connectWs() : connectSocketIo())
  .then(() => process.send!({ type: "ready" }))
  .catch((error: Error) => {
    process.send!({ type: "error", message: error.message });
    process.exit(1);
  });
setTimeout(done, 120_000).unref();
