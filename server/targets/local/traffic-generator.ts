/**
 * Demo traffic: a steady `rate` requests per second through an environment's proxy, spread over the
 * demo service's feature endpoints. Requests carry no cookie, so they split by the proxy's weights.
 * At most `maxInFlight` requests are outstanding; a tick that finds the limit reached skips its
 * requests rather than queueing them (a slow release shows up as fewer, slower requests, not a burst).
 */
import http from "node:http";

export const FEATURE_PATHS = ["/api/v1/version", "/api/v1/catalog", "/api/v1/orders"] as const;

export interface TrafficGeneratorOptions {
  /** Where the proxy is now (it may move when a panel restarts on a taken port). */
  target: () => { host: string; port: number } | null;
  rate?: number;
  maxInFlight?: number;
  requestTimeoutMs?: number;
  tickMs?: number;
}

export class TrafficGenerator {
  private readonly target: TrafficGeneratorOptions["target"];
  private readonly maxInFlight: number;
  private readonly requestTimeoutMs: number;
  private readonly tickMs: number;
  private readonly agent: http.Agent;
  private rateNow: number;
  private timer: NodeJS.Timeout | null = null;
  private periodStart = 0;
  private sentInPeriod = 0;
  private next = 0;
  inFlight = 0;
  sent = 0;
  skipped = 0;
  completed = 0;

  constructor(options: TrafficGeneratorOptions) {
    this.target = options.target;
    this.rateNow = sanitizeRate(options.rate ?? 20);
    this.maxInFlight = options.maxInFlight ?? 100;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.tickMs = options.tickMs ?? 20;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.maxInFlight, timeout: 30_000, scheduling: "lifo" });
  }

  get running(): boolean {
    return this.timer !== null;
  }

  get rate(): number {
    return this.rateNow;
  }

  start(): void {
    if (this.timer) return;
    this.resetPeriod();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  setRate(rate: number): void {
    this.rateNow = sanitizeRate(rate);
    this.resetPeriod();
  }

  /** Stops and closes the keep-alive connections. */
  close(): void {
    this.stop();
    this.agent.destroy();
  }

  private resetPeriod(): void {
    this.periodStart = performance.now();
    this.sentInPeriod = 0;
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.periodStart) / 1000) * this.rateNow) - this.sentInPeriod;
    if (due <= 0) return;
    this.sentInPeriod += due;
    const target = this.target();
    if (!target) {
      this.skipped += due;
      return;
    }
    for (let i = 0; i < due; i++) {
      if (this.inFlight >= this.maxInFlight) {
        this.skipped += due - i;
        return;
      }
      this.send(target.host, target.port);
    }
  }

  private send(host: string, port: number): void {
    const path = FEATURE_PATHS[this.next++ % FEATURE_PATHS.length]!;
    this.inFlight++;
    this.sent++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.inFlight--;
      this.completed++;
    };
    const req = http.request(
      { host, port, path, method: "GET", agent: this.agent, headers: { "user-agent": "greenlight-traffic-generator" } },
      (res) => {
        res.on("end", finish);
        res.on("error", finish);
        res.on("close", finish);
        res.resume();
      },
    );
    req.setTimeout(this.requestTimeoutMs, () => req.destroy());
    req.on("error", finish);
    req.end();
  }
}

function sanitizeRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0)
    throw new RangeError(`Traffic rate must be a non-negative number (got ${rate}).`);
  return Math.min(rate, 5000);
}
