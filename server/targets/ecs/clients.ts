/**
 * The AWS clients the ECS target uses, one set per region and retry setting.
 *
 * Credentials are never stored: every client resolves them through the SDK's default provider chain
 * (environment, shared config/SSO profile, web identity, ECS container or EC2 instance role), so the
 * panel runs with whatever identity its host gives it; an environment in another account names a
 * role, which that identity assumes (assume-role.ts).
 *
 * Retries are the SDK's own standard strategy (a token bucket that stops retrying when AWS is
 * clearly unwell) with our attempt count and an exponential, full-jitter backoff: throttling
 * (ThrottlingException, 429), 500/502/503/504 and socket timeouts are retried; anything else (a 4xx
 * such as AccessDenied or a validation error) fails at once. Past the budget the error propagates
 * and the reconciler's own pass retries, then pause, take over.
 *
 * Endpoints: the installed SDK (@smithy/core 3.x) reads AWS_ENDPOINT_URL and the per-service
 * AWS_ENDPOINT_URL_ECS / _ELASTIC_LOAD_BALANCING_V2 / _CLOUDWATCH / _APPLICATION_AUTO_SCALING itself
 * (and `endpoint_url` in the shared config file), for every client. `endpoint` here overrides that.
 */
import { ApplicationAutoScalingClient } from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ECSClient, type ECSClientConfig } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { STSClient } from "@aws-sdk/client-sts";
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import { assumeRoleCredentials, type AssumedRole } from "./assume-role.ts";
import type { EcsConfig, RetrySettings } from "./config.ts";

export interface EcsClients {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  autoscaling: ApplicationAutoScalingClient;
  /** When the environment is in another account: the role the clients act as. */
  assumedRole?: AssumedRole;
}

export interface EcsClientOptions {
  region: string;
  retry: RetrySettings;
  /** Overrides AWS_ENDPOINT_URL (which the SDK reads on its own). */
  endpoint?: string;
  /** Tests only: a request handler that answers without a network. */
  requestHandler?: ECSClientConfig["requestHandler"];
  /** Tests only: where backoff jitter comes from. */
  random?: () => number;
  /** Another account's role to act as (its credentials replace the default chain's). */
  assumedRole?: AssumedRole;
}

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base × 2^(attempt-1))). */
export function backoffDelay(
  attempt: number,
  settings: Pick<RetrySettings, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** The SDK's standard retry strategy with our attempts and backoff. */
export function retryStrategy(settings: RetrySettings, random?: () => number): ConfiguredRetryStrategy {
  return new ConfiguredRetryStrategy(settings.maxAttempts, (attempt) => backoffDelay(attempt, settings, random));
}

export function createEcsClients(options: EcsClientOptions): EcsClients {
  const role = options.assumedRole;
  const base = () => ({
    region: options.region,
    maxAttempts: options.retry.maxAttempts,
    // A strategy per client: each keeps its own retry-token bucket, as the SDK intends.
    retryStrategy: retryStrategy(options.retry, options.random),
    requestHandler: options.requestHandler ?? requestHandlerSettings(options.retry),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // The SDK calls a credential provider with arguments of its own; ours takes only a signal.
    ...(role ? { credentials: () => role.credentials() } : {}),
  });
  const clients: EcsClients = {
    ecs: new ECSClient(base()),
    elb: new ElasticLoadBalancingV2Client(base()),
    cloudwatch: new CloudWatchClient(base()),
    autoscaling: new ApplicationAutoScalingClient(base()),
    ...(options.assumedRole ? { assumedRole: options.assumedRole } : {}),
  };
  nameFailures(clients.ecs, "ecs", options.retry);
  nameFailures(clients.elb, "elasticloadbalancing", options.retry);
  nameFailures(clients.cloudwatch, "cloudwatch", options.retry);
  nameFailures(clients.autoscaling, "application-autoscaling", options.retry);
  return clients;
}

/**
 * The HTTP handler's limits. `throwOnRequestTimeout` is what makes `requestTimeout` end an attempt:
 * without it @smithy/node-http-handler (4.x) only logs a warning and an attempt against an endpoint
 * that accepts the connection and never answers waits for ever. The socket timeout ends an attempt
 * whose connection goes quiet part-way through an answer.
 */
export function requestHandlerSettings(retry: Pick<RetrySettings, "requestTimeoutMs" | "connectionTimeoutMs">) {
  return {
    requestTimeout: retry.requestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: retry.requestTimeoutMs,
    connectionTimeout: retry.connectionTimeoutMs,
  };
}

interface FailureContext {
  call: string;
  host: string | null;
  requestTimeoutMs: number;
}

/**
 * An AWS call that got no answer, in words that say which call and where: the SDK's own messages
 * ("Request aborted", "@smithy/node-http-handler - [ERROR] a request has exceeded …") name neither.
 * Answers from AWS (throttling, access denied, validation) keep AWS's own name and message.
 */
export function describeUnanswered(error: unknown, context: FailureContext): Error | null {
  if (!(error instanceof Error)) return null;
  const where = context.host ? ` at ${context.host}` : "";
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const tries = attempts && attempts > 1 ? ` (${attempts} attempts)` : "";
  const code = (error as NodeJS.ErrnoException).code;
  let message: string | null = null;
  if (error.name === "AbortError") {
    // Whoever aborted says why (the reconciler adds the pass deadline).
    message = `${context.call}${where} was stopped before AWS answered`;
  } else if (error.name === "TimeoutError") {
    message = `AWS did not answer ${context.call}${where} within ${context.requestTimeoutMs} ms${tries}`;
  } else if (
    code &&
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"].includes(code)
  ) {
    message = `AWS could not be reached for ${context.call}${where}${tries}: ${code}`;
  }
  if (message === null) return null;
  return Object.assign(new Error(message, { cause: error }), {
    name: error.name,
    $metadata: (error as { $metadata?: unknown }).$metadata,
  });
}

type MiddlewareClient = { middlewareStack: { add: (...args: never[]) => void } };

/** Rewrites unanswered calls' errors (see describeUnanswered) as they leave the client, after retries. */
function nameFailures(client: MiddlewareClient, api: string, retry: RetrySettings): void {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the SDK types add() over `never`; without this it cannot be called
  const stack = client.middlewareStack as unknown as {
    add(
      middleware: (
        next: (args: { request?: unknown }) => Promise<unknown>,
        context: Record<string, unknown>,
      ) => (args: { request?: unknown }) => Promise<unknown>,
      options: { step: string; name: string },
    ): void;
  };
  stack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const command = (typeof context.commandName === "string" ? context.commandName : "call").replace(
          /Command$/,
          "",
        );
        const described = describeUnanswered(error, {
          call: `${api}:${command}`,
          host: (context.greenlightHost as string | undefined) ?? null,
          requestTimeoutMs: retry.requestTimeoutMs,
        });
        throw described ?? error;
      }
    },
    { step: "initialize", name: "greenlightNameUnanswered" },
  );
  stack.add(
    (next, context) => async (args) => {
      const request = args.request as { hostname?: string; port?: number } | undefined;
      if (request?.hostname)
        context.greenlightHost = request.port ? `${request.hostname}:${request.port}` : request.hostname;
      return next(args);
    },
    { step: "finalizeRequest", name: "greenlightRecordHost" },
  );
}

type Send = (command: { input?: unknown }, options?: object) => Promise<unknown>;

/** The same clients with every `send` passed through `wrap` (the SDK's own clients stay untouched). */
function wrapSend(clients: EcsClients, wrap: (send: Send) => Send): EcsClients {
  const bind = <T extends object>(client: T): T =>
    new Proxy(client, {
      get(target, property, receiver) {
        if (property !== "send") return Reflect.get(target, property, receiver);
        const send = (Reflect.get(target, property, receiver) as Send).bind(target);
        return wrap(send);
      },
    });
  return {
    ...clients,
    ecs: bind(clients.ecs),
    elb: bind(clients.elb),
    cloudwatch: bind(clients.cloudwatch),
    autoscaling: bind(clients.autoscaling),
  };
}

/**
 * The same clients with every call bound to `signal` (the pass's deadline): the SDK stops the
 * attempt in flight, and any retry backoff, once it aborts. With an assumed role, the role's
 * credentials are asked for first under the signal too: the SDK resolves credentials without the
 * call's signal, so a renewal it started would wait on a silent STS for its whole retry budget.
 */
export function withSignal(clients: EcsClients, signal: AbortSignal | undefined): EcsClients {
  if (!signal) return clients;
  const role = clients.assumedRole;
  const bound = wrapSend(clients, (send) => async (command, options) => {
    if (role) await role.credentials({ signal });
    return send(command, { ...options, abortSignal: signal });
  });
  return role ? { ...bound, assumedRole: { ...role, credentials: () => role.credentials({ signal }) } } : bound;
}

/**
 * The same clients with AWS's "not found" answers made to say which resource is missing and for
 * which environment: `listener arn:aws:…:listener/app/x/… does not exist (environment production
 * of checkout)` rather than "One or more listeners not found".
 */
export function namingMissing(clients: EcsClients, where: string): EcsClients {
  return wrapSend(clients, (send) => async (command, options) => {
    try {
      return await send(command, options);
    } catch (error) {
      const missing = await whichAreMissing(send, command, options, error);
      throw describeMissing(error, command.input, where, missing) ?? error;
    }
  });
}

/** A resource the configuration names that AWS says does not exist. */
export class MissingResource extends Error {
  override readonly name = "MissingResource";
}

const list = (value: unknown) => (Array.isArray(value) ? value.join(", ") : typeof value === "string" ? value : "?");

/**
 * Not-found errors of the calls that may ask about several resources at once (one field for one,
 * another for a list). Given a list, AWS fails the whole call and does not say which is missing.
 */
const LISTED: Record<string, { noun: string; one: string; many: string }> = {
  ListenerNotFoundException: { noun: "listener", one: "ListenerArn", many: "ListenerArns" },
  RuleNotFoundException: { noun: "listener rule", one: "RuleArn", many: "RuleArns" },
  TargetGroupNotFoundException: { noun: "target group", one: "TargetGroupArn", many: "TargetGroupArns" },
  LoadBalancerNotFoundException: { noun: "load balancer", one: "LoadBalancerArn", many: "LoadBalancerArns" },
};

/**
 * Which of the resources a failed call listed do not exist: each is asked about alone, since AWS's
 * answer names none (an environment with an HTTP and an HTTPS listener, one of them deleted, must
 * not be told both are gone). Only after a not-found error for a list of two or more, so it costs
 * nothing on the way that works. Undefined when that does not apply or the answers do not tell
 * (another error, or every one found this time).
 */
async function whichAreMissing(
  send: Send,
  command: { input?: unknown },
  options: object | undefined,
  error: unknown,
): Promise<string[] | undefined> {
  const kind = error instanceof Error ? LISTED[error.name] : undefined;
  const input = (command.input ?? {}) as Record<string, unknown>;
  const arns = kind ? input[kind.many] : undefined;
  if (!kind || !Array.isArray(arns) || arns.length < 2) return undefined;
  // The SDK's commands are classes taking their input: the same call, for one resource.
  const Command = command.constructor as new (input: unknown) => { input?: unknown };
  try {
    const gone = await Promise.all(
      arns.map(async (arn: unknown) => {
        try {
          await send(new Command({ ...input, [kind.many]: [arn] }), options);
          return false;
        } catch (e) {
          if (e instanceof Error && e.name === (error as Error).name) return true;
          throw e;
        }
      }),
    );
    const missing = arns.filter((_, i) => gone[i]).map(String);
    return missing.length > 0 ? missing : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The missing resource an AWS "not found" error is about, from the call's input; null for any other
 * error. `missing`: those of a listed call found missing one by one (see whichAreMissing).
 */
export function describeMissing(error: unknown, input: unknown, where: string, missing?: string[]): Error | null {
  if (!(error instanceof Error)) return null;
  const i = (input ?? {}) as Record<string, unknown>;
  const resource: Record<string, () => string> = {
    ClusterNotFoundException: () => `cluster ${list(i.cluster)}`,
    ServiceNotFoundException: () => `service ${list(i.service ?? i.services)} in cluster ${list(i.cluster)}`,
    ResourceNotFoundException: () => `${list(i.ResourceId ?? i.AlarmNames ?? i.RoleArn ?? "resource")}`,
  };
  let what = resource[error.name]?.();
  // ECS answers a missing task definition with a generic ClientException.
  if (!what && error.name === "ClientException" && /unable to describe task definition/i.test(error.message))
    what = `task definition ${list(i.taskDefinition)}`;
  let said = what ? `${what} does not exist` : null;
  let notes = [where];
  const listed = LISTED[error.name];
  if (listed) {
    const asked = i[listed.one] !== undefined ? [i[listed.one]] : Array.isArray(i[listed.many]) ? i[listed.many] : [];
    const names = (missing ?? (asked as unknown[])).map(String);
    if (names.length <= 1) said = `${listed.noun} ${names[0] ?? "?"} does not exist`;
    else if (missing) said = `${listed.noun}s ${names.join(", ")} do not exist`;
    else {
      said = `one or more of the ${listed.noun}s ${names.join(", ")} do not exist`;
      notes = ["AWS did not say which", where];
    }
  }
  if (!said) return null;
  return Object.assign(new MissingResource(`${said} (${notes.join("; ")})`, { cause: error }), {
    $metadata: (error as { $metadata?: unknown }).$metadata,
  });
}

export function destroyEcsClients(clients: EcsClients): void {
  clients.ecs.destroy();
  clients.elb.destroy();
  clients.cloudwatch.destroy();
  clients.autoscaling.destroy();
}

export type EcsClientsFor = (config: EcsConfig) => EcsClients;

/** An STS client for a region (the panel's own identity, from the SDK's default chain). */
export function createStsClient(
  options: Pick<EcsClientOptions, "region" | "retry" | "endpoint" | "requestHandler">,
): STSClient {
  const sts = new STSClient({
    region: options.region,
    maxAttempts: options.retry.maxAttempts,
    retryStrategy: retryStrategy(options.retry),
    requestHandler: options.requestHandler ?? requestHandlerSettings(options.retry),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  // An unanswered AssumeRole names itself and where it went, like every other call.
  nameFailures(sts, "sts", options.retry);
  return sts;
}

/**
 * Clients shared by every environment with the same region, retry settings, endpoint and role (an
 * SDK client keeps a connection pool and a retry-token bucket, and an assumed role's credentials
 * are renewed for all its environments at once), so they are made once, not per pass.
 */
export function ecsClientPool(
  options: { endpoint?: string; sts?: (config: EcsConfig) => STSClient } = {},
): EcsClientsFor & { close(): void } {
  const pool = new Map<string, EcsClients>();
  const stsClients = new Map<string, STSClient>();
  const stsFor = (config: EcsConfig) => {
    if (options.sts) return options.sts(config);
    const key = JSON.stringify([config.region, config.retry, options.endpoint ?? null]);
    let sts = stsClients.get(key);
    if (!sts) {
      sts = createStsClient({ region: config.region, retry: config.retry, endpoint: options.endpoint });
      stsClients.set(key, sts);
    }
    return sts;
  };
  const get = (config: EcsConfig) => {
    const key = JSON.stringify([config.region, config.retry, options.endpoint ?? null, config.assumeRole ?? null]);
    let clients = pool.get(key);
    if (!clients) {
      const assumedRole = config.assumeRole
        ? { settings: config.assumeRole, credentials: assumeRoleCredentials(stsFor(config), config.assumeRole) }
        : undefined;
      clients = createEcsClients({
        region: config.region,
        retry: config.retry,
        endpoint: options.endpoint,
        assumedRole,
      });
      pool.set(key, clients);
    }
    return clients;
  };
  return Object.assign(get, {
    close() {
      for (const clients of pool.values()) destroyEcsClients(clients);
      for (const sts of stsClients.values()) sts.destroy();
      pool.clear();
      stsClients.clear();
    },
  });
}
