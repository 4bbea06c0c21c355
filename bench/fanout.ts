/**
 * `npm run bench -- fanout`: delivery latency of a metrics event from the panel to 200 and to 1,000
 * authenticated Socket.io clients (the panel's own server, auth and rooms), and the same fan-out
 * over plain `ws` as the floor. Clients run in a separate process.
 * Prints `BENCH fanout clients=N p50_ms p95_ms ws_p50_ms ws_p95_ms`.
 */
import { fork } from "node:child_process";
import path from "node:path";
import { WebSocketServer } from "ws";
import { startBenchPanel } from "./panel.ts";
import { benchLine, percentile } from "./stats.ts";

/** Events sent per run, one every INTERVAL_MS. */
const DEFAULT_MESSAGES = 30;
const INTERVAL_MS = 100;
const now = () => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function clients(
  mode: "socketio" | "ws",
  url: string,
  count: number,
  messages: number,
  cookie: string,
  broadcast: (payload: object) => void,
): Promise<number[]> {
  const child = fork(path.join(__dirname, "fanout-clients.ts"), [mode, url, String(count), String(messages), cookie], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const broadcastAll = async () => {
      await pause(500);
      for (let seq = 0; seq < messages; seq++) {
        broadcast({ seq, sentAt: now() });
        await pause(INTERVAL_MS);
      }
    };
    child.on("message", (message: { type: string; latencies?: number[]; message?: string }) => {
      if (message.type === "error") reject(new Error(message.message));
      if (message.type === "result") resolve(message.latencies!);
      if (message.type === "ready") broadcastAll().catch(reject);
    });
    child.on("exit", (code) => code !== 0 && reject(new Error(`clients exited with ${code}`)));
  });
}

export async function runFanoutBench(options: { sizes: number[]; messages?: number }): Promise<string[]> {
  const messages = options.messages ?? DEFAULT_MESSAGES;
  const bench = await startBenchPanel();
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((resolve) => wss.once("listening", resolve));
  const wsUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const lines: string[] = [];
  try {
    const cookie = await bench.user(["viewer"]);
    for (const size of options.sizes) {
      const socketIo = await clients("socketio", bench.url, size, messages, cookie, (payload) =>
        bench.panel.services.events.emit("env:bench", "metrics", payload),
      );
      const ws = await clients("ws", wsUrl, size, messages, cookie, (payload) => {
        const data = JSON.stringify(payload);
        for (const client of wss.clients) client.send(data);
      });
      lines.push(
        benchLine("fanout", {
          clients: size,
          deliveries: socketIo.length,
          p50_ms: percentile(socketIo, 50),
          p95_ms: percentile(socketIo, 95),
          ws_p50_ms: percentile(ws, 50),
          ws_p95_ms: percentile(ws, 95),
        }),
      );
      console.log(lines[lines.length - 1]);
    }
    return lines;
  } finally {
    wss.close();
    await bench.close();
  }
}
