/**
 * The local target's data plane: every environment's weighted proxy, the recorder of its traffic and
 * its demo traffic generator, served in a process of their own (see main.ts) so that whatever keeps
 * the panel busy (page renders, socket fan-out, garbage collection) never shows up as latency or
 * errors of the release under test, and traffic keeps flowing while the panel restarts.
 *
 * The panel drives it over a small HTTP control API on loopback, with a token (protocol.ts):
 *
 *   GET    /__greenlight/identity             who this is (the orphan watchdog counts it as contact)
 *   GET    /state                             every environment's port, weights, upstreams, generator
 *   GET    /environments/:id                  one environment's port, weights, upstreams, generator
 *   PUT    /environments/:id                  ensure the environment's proxy (port, weights, upstreams, generator)
 *   PUT    /environments/:id/weights          { blue, green }
 *   PUT    /environments/:id/upstreams/:slot  { port | null }
 *   PUT    /environments/:id/generator        { enabled, rate }
 *   DELETE /environments/:id
 *   GET    /environments/:id/window?from=&to= per slot: counts, percentiles, latency buckets and the
 *                                             slowest moment (epoch ms)
 *   GET    /seconds?after=<epoch second>      completed per-second samples of every environment
 */
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Logger } from "pino";
import { ZodError, type z } from "zod";
import { SLOTS } from "../../driver.ts";
import { MetricsRecorder } from "../metrics-recorder.ts";
import { TrafficGenerator } from "../traffic-generator.ts";
import { WeightedProxy } from "../weighted-proxy.ts";
import { TrafficGuard } from "./traffic-guard.ts";
import { CpuWaitMeter, type MachineWaits } from "./cpu-wait.ts";
import {
  environmentBody,
  generatorBody,
  IDENTITY_PATH,
  TOKEN_HEADER,
  upstreamBody,
  weightsRequestBody,
  type EnvironmentSpec,
  type EnvironmentState,
  type Identity,
  type SecondsAnswer,
} from "./protocol.ts";

interface EnvironmentPlane {
  id: string;
  proxy: WeightedProxy;
  recorder: MetricsRecorder;
  generator: TrafficGenerator;
  generatorEnabled: boolean;
  guard: TrafficGuard;
}

export interface DataPlaneOptions {
  token: string;
  /** Interface the proxies listen on and reach the slot processes at. */
  host: string;
  log?: Logger;
  /** How the machine's waits are read (/proc, by default; a test gives it a host that takes a CPU away). */
  cpuWait?: CpuWaitMeter;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ENVIRONMENT_ID = /^[\w-]{1,64}$/;
/** The event-loop delay monitor's sampling interval: its readings carry up to this much of its own. */
const LOOP_RESOLUTION_MS = 10;

export class DataPlane {
  private readonly environments = new Map<string, Promise<EnvironmentPlane>>();
  private readonly server: http.Server;
  /** The last time someone who knows the token asked anything (the orphan watchdog reads it). */
  lastContactAt = Date.now();
  private readonly cpuWait: CpuWaitMeter;
  /** This process's event-loop delay: while it falls behind, every request it times takes longer. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private heldUpTimer: NodeJS.Timeout | null = null;
  private heldUpReadAt = Date.now();

  constructor(private readonly options: DataPlaneOptions) {
    this.cpuWait = options.cpuWait ?? new CpuWaitMeter();
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        const status = error instanceof RequestError ? error.status : error instanceof ZodError ? 400 : 500;
        const message =
          error instanceof ZodError
            ? error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")
            : (error as Error).message;
        if (status === 500) this.options.log?.error({ err: error }, "data plane request failed");
        send(res, status, { error: message });
      });
    });
    this.server.keepAliveTimeout = 65_000;
    this.loopDelay.enable();
    this.scheduleHeldUp();
  }

  /**
   * Each second (just after it ends): how long a request of each slot could have been held up by the
   * machine in it (the slot's process waiting for a CPU, this process waiting for one, the host taking a
   * CPU away, or this process's event loop behind: the longest), for the recorders to set such seconds
   * aside (see cpu-wait.ts and HeldBack).
   */
  private scheduleHeldUp(): void {
    this.heldUpTimer = setTimeout(
      () => {
        void this.readHeldUp().finally(() => {
          if (this.heldUpTimer) this.scheduleHeldUp();
        });
      },
      1000 - (Date.now() % 1000) + 5,
    );
    this.heldUpTimer.unref();
  }

  private async readHeldUp(): Promise<void> {
    const planes = await this.planes();
    const ports = planes.flatMap((plane) => SLOTS.map((slot) => plane.proxy.upstreamPort(slot) ?? 0)).filter(Boolean);
    const waited = await this.cpuWait
      .read(ports)
      .catch((): MachineWaits => ({ ports: new Map<number, number | null>(), own: null, stolen: null }));
    const lagMs = Math.max(0, this.loopDelay.max / 1e6 - LOOP_RESOLUTION_MS);
    this.loopDelay.reset();
    const from = this.heldUpReadAt;
    const to = Date.now();
    this.heldUpReadAt = to;
    for (const plane of planes)
      for (const slot of SLOTS) {
        const slotWaitMs = waited.ports.get(plane.proxy.upstreamPort(slot) ?? 0) ?? 0;
        plane.recorder.recordHeldUp(slot, from, to, Math.max(slotWaitMs, waited.own ?? 0, waited.stolen ?? 0, lagMs));
      }
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, this.options.host, () => resolve((this.server.address() as { port: number }).port));
    });
  }

  /** Closes every proxy (in-flight requests get `graceMs`), then the control port. */
  async close(graceMs = 1000): Promise<void> {
    if (this.heldUpTimer) clearTimeout(this.heldUpTimer);
    this.heldUpTimer = null;
    this.loopDelay.disable();
    await Promise.all((await this.planes()).map((plane) => this.closePlane(plane, graceMs)));
    this.environments.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async closePlane(plane: EnvironmentPlane, graceMs: number): Promise<void> {
    plane.generator.close();
    await plane.proxy.close(graceMs);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.tokenMatches(req.headers[TOKEN_HEADER])) throw new RequestError(403, "forbidden");
    this.lastContactAt = Date.now();
    const url = new URL(req.url ?? "/", "http://data-plane.invalid");
    const parts = url.pathname.split("/").filter(Boolean);
    const method = req.method ?? "GET";
    if (url.pathname === IDENTITY_PATH && method === "GET") {
      const identity: Identity = {
        token: this.options.token,
        version: "data-plane",
        slot: "data-plane",
        pid: process.pid,
      };
      return send(res, 200, identity);
    }
    if (url.pathname === "/state" && method === "GET") return send(res, 200, { environments: await this.state() });
    if (url.pathname === "/seconds" && method === "GET")
      return send(res, 200, await this.seconds(Number(url.searchParams.get("after") ?? "0")));
    if (parts[0] !== "environments" || !parts[1] || !ENVIRONMENT_ID.test(parts[1]))
      throw new RequestError(404, `no route ${method} ${url.pathname}`);
    const id = parts[1];
    const rest = parts.slice(2).join("/");
    if (rest === "" && method === "PUT") return send(res, 200, await this.ensure(id, await body(req, environmentBody)));
    if (rest === "" && method === "DELETE") {
      await this.remove(id);
      return send(res, 200, { removed: id });
    }
    const plane = await this.environments.get(id);
    if (!plane) throw new RequestError(404, `environment ${id} is not set up on the data plane`);
    if (rest === "" && method === "GET") return send(res, 200, describe(plane));
    if (rest === "weights" && method === "PUT") {
      const { guard, ...weights } = await body(req, weightsRequestBody);
      plane.proxy.setWeights(plane.guard.apply(weights, guard ?? null));
      return send(res, 200, describe(plane));
    }
    if (
      parts[2] === "upstreams" &&
      (parts[3] === "blue" || parts[3] === "green") &&
      parts.length === 4 &&
      method === "PUT"
    ) {
      plane.proxy.setUpstream(parts[3], (await body(req, upstreamBody)).port);
      return send(res, 200, describe(plane));
    }
    if (rest === "generator" && method === "PUT") {
      setGenerator(plane, await body(req, generatorBody));
      return send(res, 200, describe(plane));
    }
    if (rest === "window" && method === "GET") {
      const from = Number(url.searchParams.get("from"));
      const to = Number(url.searchParams.get("to"));
      if (!Number.isFinite(from) || !Number.isFinite(to) || to < from)
        throw new RequestError(400, "from and to must be epoch milliseconds with from ≤ to");
      return send(res, 200, plane.recorder.window(from, to));
    }
    throw new RequestError(404, `no route ${method} ${url.pathname}`);
  }

  private tokenMatches(given: string | string[] | undefined): boolean {
    if (typeof given !== "string") return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.options.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Every environment whose proxy is up (one still being created is waited for; one that failed is left out). */
  private async planes(): Promise<EnvironmentPlane[]> {
    const settled = await Promise.allSettled([...this.environments.values()]);
    return settled.flatMap((p) => (p.status === "fulfilled" ? [p.value] : []));
  }

  private async state(): Promise<EnvironmentState[]> {
    return (await this.planes()).map(describe);
  }

  private async seconds(after: number): Promise<SecondsAnswer> {
    const now = Math.floor(Date.now() / 1000);
    const planes = await this.planes();
    return {
      now,
      environments: planes.map((plane) => ({
        id: plane.id,
        seconds: plane.recorder.secondsAfter(after).map((s) => ({ ...s, at: s.at.getTime() })),
      })),
    };
  }

  /** The environment's proxy as `spec` says: created on the wanted port (another if it is taken), else brought up to date. */
  private async ensure(id: string, spec: EnvironmentSpec): Promise<EnvironmentState> {
    let pending = this.environments.get(id);
    if (!pending) {
      pending = this.create(id, spec);
      this.environments.set(id, pending);
      pending.catch(() => {
        if (this.environments.get(id) === pending) this.environments.delete(id);
      });
    }
    const plane = await pending;
    // A tripped guard holds until the panel has rolled the deployment back: a restarted panel setting the
    // environment up again from its recorded weights must not send traffic back to the failing slot.
    plane.proxy.setWeights(plane.guard.state().tripped?.weights ?? spec.weights);
    for (const slot of SLOTS) plane.proxy.setUpstream(slot, spec.upstreams[slot]);
    setGenerator(plane, spec.generator);
    return describe(plane);
  }

  private async create(id: string, spec: EnvironmentSpec): Promise<EnvironmentPlane> {
    // The recorder reads the proxy's weights only once requests flow, after both exist.
    const guard = new TrafficGuard();
    const recorder: MetricsRecorder = new MetricsRecorder({
      weights: () => proxy.weights,
      onRecord: (slot, failed, at) => {
        const cut = guard.observe(slot, failed, at);
        if (!cut) return;
        proxy.setWeights(cut);
        this.options.log?.warn(
          { environmentId: id, guard: guard.state().tripped },
          "the traffic guard moved all traffic off a failing slot",
        );
      },
    });
    const proxy = new WeightedProxy({
      recorder,
      host: this.options.host,
      weights: spec.weights,
      log: this.options.log,
    });
    try {
      await proxy.listen(spec.port ?? 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || spec.port === null) throw error;
      await proxy.listen(0);
      this.options.log?.warn(
        { environmentId: id, was: spec.port, now: proxy.port },
        "the environment's port is taken; its proxy listens on a new one",
      );
    }
    const generator = new TrafficGenerator({
      rate: spec.generator.rate,
      target: () => (proxy.port ? { host: this.options.host, port: proxy.port } : null),
    });
    return { id, proxy, recorder, generator, generatorEnabled: false, guard };
  }

  private async remove(id: string): Promise<void> {
    const pending = this.environments.get(id);
    if (!pending) return;
    this.environments.delete(id);
    await this.closePlane(await pending, 1000);
  }
}

function setGenerator(plane: EnvironmentPlane, wanted: z.infer<typeof generatorBody>): void {
  if (plane.generator.rate !== wanted.rate) plane.generator.setRate(wanted.rate);
  if (wanted.enabled) plane.generator.start();
  else plane.generator.stop();
  plane.generatorEnabled = wanted.enabled;
}

function describe(plane: EnvironmentPlane): EnvironmentState {
  return {
    id: plane.id,
    port: plane.proxy.port!,
    weights: plane.proxy.weights,
    upstreams: { blue: plane.proxy.upstreamPort("blue"), green: plane.proxy.upstreamPort("green") },
    generator: { enabled: plane.generatorEnabled, rate: plane.generator.rate },
    guard: plane.guard.state(),
  };
}

async function body<T>(req: http.IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new RequestError(413, "the request body is larger than 64 KB");
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
  } catch {
    throw new RequestError(400, "the request body is not valid JSON");
  }
  return schema.parse(parsed);
}

function send(res: http.ServerResponse, status: number, payload: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
