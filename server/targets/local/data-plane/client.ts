/**
 * The panel's side of the data plane's control API (see data-plane.ts): small JSON calls over a
 * keep-alive loopback connection, each with a deadline, each carrying the token.
 */
import http from "node:http";
import type { Slot, Weights } from "../../driver.ts";
import type { GuardSpec } from "./traffic-guard.ts";
import {
  IDENTITY_PATH,
  TOKEN_HEADER,
  type EnvironmentSpec,
  type EnvironmentState,
  type Identity,
  type SecondsAnswer,
  type WindowAnswer,
} from "./protocol.ts";

export class DataPlaneError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface DataPlaneAddress {
  host: string;
  port: number;
  token: string;
  pid: number;
}

export class DataPlaneClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000 });

  constructor(
    readonly address: DataPlaneAddress,
    private readonly timeoutMs = 2000,
  ) {}

  get pid(): number {
    return this.address.pid;
  }

  close(): void {
    this.agent.destroy();
  }

  /** The process's identity when it proves it knows the token, else null (never throws). */
  async identity(): Promise<Identity | null> {
    try {
      const identity = await this.call<Identity>("GET", IDENTITY_PATH);
      return identity.token === this.address.token ? identity : null;
    } catch {
      return null;
    }
  }

  state(): Promise<{ environments: EnvironmentState[] }> {
    return this.call("GET", "/state");
  }

  environment(id: string): Promise<EnvironmentState> {
    return this.call("GET", `/environments/${encodeURIComponent(id)}`);
  }

  ensureEnvironment(id: string, spec: EnvironmentSpec): Promise<EnvironmentState> {
    return this.call("PUT", `/environments/${encodeURIComponent(id)}`, spec);
  }

  /** Sets the weights, under a traffic guard (or none: disarmed); answers what the proxy routes by now. */
  setWeights(id: string, weights: Weights, guard: GuardSpec | null = null): Promise<EnvironmentState> {
    return this.call("PUT", `/environments/${encodeURIComponent(id)}/weights`, { ...weights, guard });
  }

  setUpstream(id: string, slot: Slot, port: number | null): Promise<EnvironmentState> {
    return this.call("PUT", `/environments/${encodeURIComponent(id)}/upstreams/${slot}`, { port });
  }

  setGenerator(id: string, generator: { enabled: boolean; rate: number }): Promise<EnvironmentState> {
    return this.call("PUT", `/environments/${encodeURIComponent(id)}/generator`, generator);
  }

  removeEnvironment(id: string): Promise<unknown> {
    return this.call("DELETE", `/environments/${encodeURIComponent(id)}`);
  }

  window(id: string, from: number, to: number): Promise<WindowAnswer> {
    return this.call("GET", `/environments/${encodeURIComponent(id)}/window?from=${from}&to=${to}`);
  }

  seconds(after: number): Promise<SecondsAnswer> {
    return this.call("GET", `/seconds?after=${after}`);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          host: this.address.host,
          port: this.address.port,
          path,
          method,
          agent: this.agent,
          headers: {
            [TOKEN_HEADER]: this.address.token,
            ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              return reject(
                new DataPlaneError(
                  `the data plane answered ${method} ${path} with ${res.statusCode} and no JSON`,
                  res.statusCode ?? null,
                ),
              );
            }
            if ((res.statusCode ?? 500) >= 400)
              return reject(
                new DataPlaneError(
                  `the data plane refused ${method} ${path}: ${(parsed as { error?: string }).error ?? res.statusCode}`,
                  res.statusCode ?? null,
                ),
              );
            resolve(parsed as T);
          });
        },
      );
      const timer = setTimeout(
        () =>
          req.destroy(
            new DataPlaneError(`the data plane did not answer ${method} ${path} within ${this.timeoutMs} ms`, null),
          ),
        this.timeoutMs,
      );
      req.on("error", (error) => {
        clearTimeout(timer);
        reject(
          error instanceof DataPlaneError
            ? error
            : new DataPlaneError(
                `the data plane could not be reached (${(error as NodeJS.ErrnoException).code ?? error.message})`,
                null,
              ),
        );
      });
      req.end(payload);
    });
  }
}
