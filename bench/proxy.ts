/**
 * `npm run bench -- proxy`: latency through the local target's weighted proxy (in its data plane
 * process, as the panel runs it) vs straight to the service, at a fixed 500 requests per second,
 * load generated from a separate process.
 * Prints `BENCH proxy rps=500 p50_ms p99_ms direct_p50_ms direct_p99_ms overhead_p99_ms`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { inheritedEnvironment } from "../server/config.ts";
import { randomBytes } from "node:crypto";
import { DataPlaneClient } from "../server/targets/local/data-plane/client.ts";
import { dataPlaneCommand } from "../server/targets/local/data-plane/supervisor.ts";
import { DEMO_SERVICE_PATH } from "../server/targets/local/local-target.ts";
import { benchLine, percentile } from "./stats.ts";

const RATE = 500;

function startService(): Promise<{ port: number; stop: () => void }> {
  return startListening([process.execPath, DEMO_SERVICE_PATH], {
    PORT: "0",
    RELEASE_VERSION: "bench",
    SLOT: "blue",
    GREENLIGHT_TOKEN: "bench",
  });
}

function startListening(command: string[], env: Record<string, string>): Promise<{ port: number; stop: () => void }> {
  const child = spawn(command[0]!, command.slice(1), {
    env: inheritedEnvironment(env),
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
      const match = /GREENLIGHT_LISTENING (\d+)/.exec(out);
      if (match) resolve({ port: Number(match[1]), stop: () => child.kill("SIGTERM") });
    });
    child.on("exit", (code) => reject(new Error(`demo service exited (${code})`)));
  });
}

function load(url: string, seconds: number): Promise<{ latencies: number[]; errors: number }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "load-client.ts"), url, String(RATE), String(seconds)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (chunk) => (out += String(chunk)));
  // "close", not "exit": the result line must have been read.
  return new Promise((resolve) =>
    child.on("close", () =>
      resolve(JSON.parse(out.trim().split("\n").pop()!) as { latencies: number[]; errors: number }),
    ),
  );
}

export async function runProxyBench(options: { seconds: number }): Promise<string> {
  const service = await startService();
  const token = randomBytes(24).toString("hex");
  const dataPlane = await startListening(await dataPlaneCommand(), { PORT: "0", GREENLIGHT_TOKEN: token });
  const client = new DataPlaneClient({ host: "127.0.0.1", port: dataPlane.port, token, pid: 0 });
  const { port: proxyPort } = await client.ensureEnvironment("bench", {
    port: null,
    weights: { blue: 100, green: 0 },
    upstreams: { blue: service.port, green: null },
    generator: { enabled: false, rate: 0 },
  });
  try {
    const path_ = "/api/v1/version";
    // Warm both paths (connections, JIT) before measuring.
    await load(`http://127.0.0.1:${proxyPort}${path_}`, 3);
    const direct = await load(`http://127.0.0.1:${service.port}${path_}`, options.seconds);
    const proxied = await load(`http://127.0.0.1:${proxyPort}${path_}`, options.seconds);
    return benchLine("proxy", {
      rps: RATE,
      requests: proxied.latencies.length,
      p50_ms: percentile(proxied.latencies, 50),
      p99_ms: percentile(proxied.latencies, 99),
      direct_p50_ms: percentile(direct.latencies, 50),
      direct_p99_ms: percentile(direct.latencies, 99),
      overhead_p99_ms: percentile(proxied.latencies, 99) - percentile(direct.latencies, 99),
      errors: proxied.errors + direct.errors,
    });
  } finally {
    client.close();
    dataPlane.stop();
    service.stop();
  }
}
