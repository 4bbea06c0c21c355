/**
 * A real Prometheus server for the Prometheus tier: Debian's binary, on a port the OS chooses, with a
 * temporary configuration and storage directory, scraping every 500 ms whatever targets the test names
 * (file-based service discovery, so targets can come and go as slot processes do). One per test file;
 * killed, and its directory removed, when the file ends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { testEnvironment } from "../../server/config.ts";
import type { TestPanel } from "./panel.ts";
import { waitFor } from "./wait.ts";

export const SCRAPE_INTERVAL_MS = 500;

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface TestPrometheus {
  url: string;
  /** Replaces the scraped targets (Prometheus picks the file up on its own). */
  setTargets(groups: TargetGroup[]): void;
  /** Prometheus's own answer to a query, as its HTTP API gives it. */
  query(query: string): Promise<{
    status: string;
    error?: string;
    data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
  }>;
  output(): string;
  close(): Promise<void>;
}

export async function startPrometheus(): Promise<TestPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-prometheus-"));
  const targetsFile = path.join(dir, "targets.json");
  fs.writeFileSync(targetsFile, "[]");
  fs.writeFileSync(
    path.join(dir, "prometheus.yml"),
    [
      "global:",
      `  scrape_interval: ${SCRAPE_INTERVAL_MS}ms`,
      `  scrape_timeout: ${SCRAPE_INTERVAL_MS - 100}ms`,
      "scrape_configs:",
      "  - job_name: demo-service",
      "    file_sd_configs:",
      `      - files: [${JSON.stringify(targetsFile)}]`,
      "        refresh_interval: 1s",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(
    testEnvironment().prometheusPath,
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      "--web.listen-address=127.0.0.1:0",
      "--log.level=info",
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  async function close(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killed = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killed);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  try {
    // Prometheus logs the address it really listens on: `msg="Listening on" address=127.0.0.1:43089`.
    const port = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`Prometheus exited with ${child.exitCode}: ${output}`);
        return /msg="Listening on" address=127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      },
      "Prometheus to listen",
      30_000,
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, "Prometheus to be ready", 30_000);
    return {
      url,
      setTargets(groups) {
        fs.writeFileSync(`${targetsFile}.tmp`, JSON.stringify(groups));
        fs.renameSync(`${targetsFile}.tmp`, targetsFile);
      },
      async query(query) {
        const response = await fetch(`${url}/api/v1/query`, { method: "POST", body: new URLSearchParams({ query }) });
        return (await response.json()) as Awaited<ReturnType<TestPrometheus["query"]>>;
      },
      output: () => output,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Keeps Prometheus scraping the slot processes the panel runs for these environments, labelled with
 * their service and environment as a scrape configuration would label them. Returns a stop function.
 */
export function scrapeSlots(
  t: TestPanel,
  prometheus: TestPrometheus,
  environments: { id: string; service: string; environment: string }[],
): () => void {
  let written = "";
  let stopped = false;
  const sync = async () => {
    const rows = await t.prisma.localSlotProcess.findMany({
      where: { environmentId: { in: environments.map((e) => e.id) } },
      orderBy: [{ environmentId: "asc" }, { slot: "asc" }],
    });
    const groups: TargetGroup[] = environments.map((e) => ({
      targets: rows.filter((r) => r.environmentId === e.id).map((r) => `127.0.0.1:${r.port}`),
      labels: { service: e.service, environment: e.environment },
    }));
    const text = JSON.stringify(groups);
    if (text !== written && !stopped) {
      prometheus.setTargets(groups);
      written = text;
    }
  };
  const timer = setInterval(() => void sync().catch(() => {}), 100);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * A TCP relay in front of Prometheus that a test can cut, as a network outage would: while it is
 * down, connections are refused; `up()` listens on the same port again.
 */
export interface Relay {
  url: string;
  /** Every byte sent through the relay towards Prometheus (to see what the panel sends). */
  sent(): string;
  down(): Promise<void>;
  up(): Promise<void>;
}

export async function startRelay(to: string): Promise<Relay> {
  const target = new URL(to);
  const sockets = new Set<net.Socket>();
  let sent = "";
  const server = net.createServer((socket) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(socket).add(upstream);
    socket.on("data", (chunk) => (sent += chunk.toString()));
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
      sockets.delete(socket);
      sockets.delete(upstream);
    };
    socket.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    sent: () => sent,
    async down() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async up() {
      if (server.listening) return;
      await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
    },
  };
}
