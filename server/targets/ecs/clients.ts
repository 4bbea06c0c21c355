/**
 * The AWS clients the ECS target uses, one set per region and retry setting.
 *
 * Credentials are never passed: every client resolves them through the SDK's default provider chain
 * (environment, shared config/SSO profile, web identity, ECS container or EC2 instance role), so the
 * panel runs with whatever identity its host gives it.
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
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import type { EcsConfig, RetrySettings } from "./config.ts";

export interface EcsClients {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  autoscaling: ApplicationAutoScalingClient;
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
}

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base × 2^(attempt-1))). */
export function backoffDelay(attempt: number, settings: Pick<RetrySettings, "baseDelayMs" | "maxDelayMs">, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** The SDK's standard retry strategy with our attempts and backoff. */
export function retryStrategy(settings: RetrySettings, random?: () => number): ConfiguredRetryStrategy {
  return new ConfiguredRetryStrategy(settings.maxAttempts, (attempt) => backoffDelay(attempt, settings, random));
}

export function createEcsClients(options: EcsClientOptions): EcsClients {
  const base = () => ({
    region: options.region,
    maxAttempts: options.retry.maxAttempts,
    // A strategy per client: each keeps its own retry-token bucket, as the SDK intends.
    retryStrategy: retryStrategy(options.retry, options.random),
    requestHandler: options.requestHandler ?? { requestTimeout: options.retry.requestTimeoutMs, connectionTimeout: options.retry.connectionTimeoutMs },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  return {
    ecs: new ECSClient(base()),
    elb: new ElasticLoadBalancingV2Client(base()),
    cloudwatch: new CloudWatchClient(base()),
    autoscaling: new ApplicationAutoScalingClient(base()),
  };
}

export function destroyEcsClients(clients: EcsClients): void {
  clients.ecs.destroy();
  clients.elb.destroy();
  clients.cloudwatch.destroy();
  clients.autoscaling.destroy();
}

export type EcsClientsFor = (config: EcsConfig) => EcsClients;

/**
 * Clients shared by every environment with the same region, retry settings and endpoint (an SDK
 * client keeps a connection pool and a retry-token bucket, so they are made once, not per pass).
 */
export function ecsClientPool(options: { endpoint?: string } = {}): EcsClientsFor & { close(): void } {
  const pool = new Map<string, EcsClients>();
  const get = (config: EcsConfig) => {
    const key = JSON.stringify([config.region, config.retry, options.endpoint ?? null]);
    let clients = pool.get(key);
    if (!clients) {
      clients = createEcsClients({ region: config.region, retry: config.retry, endpoint: options.endpoint });
      pool.set(key, clients);
    }
    return clients;
  };
  return Object.assign(get, {
    close() {
      for (const clients of pool.values()) destroyEcsClients(clients);
      pool.clear();
    },
  });
}
