/**
 * `npm run bench -- proxy`: latency through the local target's weighted proxy vs straight to the
 * service, at a fixed 500 requests per second, load generated from a separate process.
 * Prints `BENCH proxy rps=500 p50_ms p99_ms direct_p50_ms direct_p99_ms overhead_p99_ms`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { inheritedEnvironment } from "../server/config.ts";
import { MetricsRecorder } from "../server/targets/local/metrics-recorder.ts";
import { DEMO_SERVICE_PATH } from "../server/targets/local/local-target.ts";
import { WeightedProxy } from "../server/targets/local/weighted-proxy.ts";
import { benchLine, percentile } from "./stats.ts";

const RATE = 500;

function startService(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [DEMO_SERVICE_PATH], { env: inheritedEnvironment({ PORT: "0", RELEASE_VERSION: "bench", SLOT: "blue", GREENLIGHT_TOKEN: "bench" }), stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += String(chunk);
      const match = /GREENLIGHT_LISTENING (\d+)/.exec(out);
      if (match) resolve({ port: Number(match[1]), stop: () => child.kill("SIGTERM") });
    });
    child.on("exit", (code) => reject(new Error(`demo service exited (${code})`)));
  });
}

function load(url: string, seconds: number): Promise<{ latencies: number[]; errors: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "load-client.ts"), url, String(RATE), String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += String(chunk)));
  // "close", not "exit": the result line must have been read.
  return new Promise((resolve) => child.on("close", () => resolve(JSON.parse(out.trim().split("\n").pop()!))));
}

export async function runProxyBench(options: { seconds: number }): Promise<string> {
  const service = await startService();
  const recorder = new MetricsRecorder({});
  const proxy = new WeightedProxy({ recorder, weights: { blue: 100, green: 0 } });
  proxy.setUpstream("blue", service.port);
  const proxyPort = await proxy.listen(0);
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
    await proxy.close();
    service.stop();
  }
}
