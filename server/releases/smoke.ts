/**
 * Smoke tests against one slot directly (before it gets traffic, and again at 100%): HTTP checks of
 * status, body and latency, and WebSocket checks that a connection opens in time.
 */
import WebSocket from "ws";
import type { SmokeCheck } from "./policy.ts";

export interface SmokeOutcome {
  name: string;
  kind: "http" | "websocket";
  ok: boolean;
  status: number | null;
  latencyMs: number | null;
  detail: string;
}

async function httpCheck(baseUrl: string, check: Extract<SmokeCheck, { kind: "http" }>): Promise<SmokeOutcome> {
  const started = performance.now();
  const base = { name: check.name, kind: "http" as const };
  try {
    const response = await fetch(new URL(check.path, baseUrl), {
      method: check.method,
      redirect: "manual",
      signal: AbortSignal.timeout(Math.max(check.maxLatencyMs * 2, 5000)),
    });
    const body = check.method === "HEAD" ? "" : await response.text();
    const latencyMs = Math.round(performance.now() - started);
    const problems: string[] = [];
    if (check.expectStatus !== undefined ? response.status !== check.expectStatus : response.status > check.maxStatus) {
      problems.push(`status ${response.status}, expected ${check.expectStatus ?? `at most ${check.maxStatus}`}`);
    }
    if (check.bodyContains && !body.includes(check.bodyContains))
      problems.push(`body does not contain "${check.bodyContains}"`);
    if (latencyMs > check.maxLatencyMs) problems.push(`took ${latencyMs} ms, limit ${check.maxLatencyMs} ms`);
    return {
      ...base,
      ok: problems.length === 0,
      status: response.status,
      latencyMs,
      detail: problems.length ? problems.join("; ") : `${response.status} in ${latencyMs} ms`,
    };
  } catch (error) {
    return {
      ...base,
      ok: false,
      status: null,
      latencyMs: Math.round(performance.now() - started),
      detail: `request failed: ${(error as Error).message}`,
    };
  }
}

function websocketCheck(baseUrl: string, check: Extract<SmokeCheck, { kind: "websocket" }>): Promise<SmokeOutcome> {
  const url = new URL(check.path, baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const started = performance.now();
  const base = { name: check.name, kind: "websocket" as const, status: null };
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { handshakeTimeout: check.connectWithinMs });
    const timer = setTimeout(
      () => finish(false, `did not connect within ${check.connectWithinMs} ms`),
      check.connectWithinMs,
    );
    function finish(ok: boolean, detail: string) {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.terminate();
      resolve({ ...base, ok, latencyMs: Math.round(performance.now() - started), detail });
    }
    socket.once("open", () => finish(true, `connected in ${Math.round(performance.now() - started)} ms`));
    socket.once("error", (error) => finish(false, `connection failed: ${error.message}`));
    socket.once("unexpected-response", (_req, res) => finish(false, `upgrade refused with HTTP ${res.statusCode}`));
  });
}

export async function runSmokeChecks(baseUrl: string, checks: SmokeCheck[]): Promise<SmokeOutcome[]> {
  return Promise.all(
    checks.map((check) => (check.kind === "http" ? httpCheck(baseUrl, check) : websocketCheck(baseUrl, check))),
  );
}
