/**
 * Environments in other AWS accounts: the ECS target's clients act as the environment's role,
 * assumed with STS AssumeRole (mocked with aws-sdk-client-mock; nothing reaches AWS), with the
 * external id and session name, renewed before the credentials expire. The signing check runs the
 * SDK's real middleware (credentials, signature) with a request handler that answers from memory.
 */
import { Readable } from "node:stream";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { AssumeRoleCommand, STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { HttpResponse } from "@smithy/core/protocols";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EnvironmentRef } from "../../server/targets/driver.ts";
import {
  assumeRoleCredentials,
  needsRenewal,
  REFRESH_BEFORE_MS,
  RENEWAL_RETRY_MS,
  USABLE_UNTIL_MS,
} from "../../server/targets/ecs/assume-role.ts";
import {
  createEcsClients,
  createStsClient,
  ecsClientPool,
  withSignal,
  type EcsClientOptions,
} from "../../server/targets/ecs/clients.ts";
import { validateEcsConfig, type AssumeRoleSettings, type RetrySettings } from "../../server/targets/ecs/config.ts";
import { EcsTarget } from "../../server/targets/ecs/ecs-target.ts";
import { verifyEcsConfigAgainstAws } from "../../server/targets/ecs/verify.ts";
import { useStaticAwsCredentials } from "../helpers/aws-env.ts";
import { sampleEcsConfigInput } from "../helpers/fake-aws.ts";
import { startSilentServer, type SilentServer } from "../helpers/silent-server.ts";
import { waitFor } from "../helpers/wait.ts";

const ROLE = "arn:aws:iam::123456789012:role/greenlight-deployer";
const SETTINGS: AssumeRoleSettings = {
  roleArn: ROLE,
  externalId: "checkout-prod-7f3a",
  sessionName: "greenlight-checkout",
  durationSeconds: 3600,
};
const T0 = new Date("2026-12-01T12:00:00Z");

const credentialsAnswer = (n: number, expiration: Date) => ({
  Credentials: {
    AccessKeyId: `ASIAROLEKEY${n}`,
    SecretAccessKey: `secret-${n}`,
    SessionToken: `token-${n}`,
    Expiration: expiration,
  },
  AssumedRoleUser: {
    Arn: `arn:aws:sts::123456789012:assumed-role/greenlight-deployer/greenlight-checkout`,
    AssumedRoleId: `AROA:${n}`,
  },
});

// The panel's own identity (what STS would see), found first by the default chain: no metadata service is asked.
useStaticAwsCredentials("AKIDPANEL", "panel-secret");

let sts: STSClient;
let stsMock: AwsClientStub<STSClient>;
beforeEach(() => {
  sts = new STSClient({ region: "eu-west-1" });
  stsMock = mockClient(sts);
});

/** Settles `promise` into a box a test can poll (waitFor) without holding on to its rejection. */
function settling<T>(promise: Promise<T>) {
  const box: { error?: Error; value?: T; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(box, { value, done: true }),
    (error: unknown) => Object.assign(box, { error: error as Error, done: true }),
  );
  return box;
}

describe("assumeRoleCredentials", () => {
  it("assumes the role with its external id and session name, and keeps the credentials while they are fresh", async () => {
    let now = T0;
    stsMock.on(AssumeRoleCommand).resolves(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)));
    const credentials = assumeRoleCredentials(sts, SETTINGS, () => now);
    expect(await credentials()).toMatchObject({ accessKeyId: "ASIAROLEKEY1", sessionToken: "token-1" });
    expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      {
        RoleArn: ROLE,
        RoleSessionName: "greenlight-checkout",
        DurationSeconds: 3600,
        ExternalId: "checkout-prod-7f3a",
      },
    ]);
    now = new Date(T0.getTime() + 3600_000 - REFRESH_BEFORE_MS - 1000);
    await credentials();
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it("from 10 minutes before they expire, one AssumeRole renews them in the background while every caller keeps the old ones", async () => {
    let now = T0;
    let answer: ((value: ReturnType<typeof credentialsAnswer>) => void) | undefined;
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      .callsFake(() => new Promise((resolve) => (answer = resolve)));
    const credentials = assumeRoleCredentials(sts, SETTINGS, () => now);
    await credentials();
    now = new Date(T0.getTime() + 3600_000 - REFRESH_BEFORE_MS);
    const all = await Promise.all([credentials(), credentials(), credentials()]);
    expect(all.map((c) => c.accessKeyId)).toEqual(["ASIAROLEKEY1", "ASIAROLEKEY1", "ASIAROLEKEY1"]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    answer!(credentialsAnswer(2, new Date(T0.getTime() + 7200_000)));
    await waitFor(async () => (await credentials()).accessKeyId === "ASIAROLEKEY2", "the renewed credentials");
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("within 5 minutes of expiry, when the SDK no longer signs with them, every caller waits for one AssumeRole", async () => {
    let now = T0;
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      .resolves(credentialsAnswer(2, new Date(T0.getTime() + 7200_000)));
    const credentials = assumeRoleCredentials(sts, SETTINGS, () => now);
    await credentials();
    now = new Date(T0.getTime() + 3600_000 - USABLE_UNTIL_MS);
    const all = await Promise.all([credentials(), credentials(), credentials()]);
    expect(all.map((c) => c.accessKeyId)).toEqual(["ASIAROLEKEY2", "ASIAROLEKEY2", "ASIAROLEKEY2"]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("a background renewal that fails is tried again 30 s later at the soonest, the old credentials used meanwhile", async () => {
    let now = new Date(T0.getTime() + 3600_000 - REFRESH_BEFORE_MS);
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      .rejectsOnce(
        new STSServiceException({ name: "AccessDenied", $fault: "client", message: "not authorized", $metadata: {} }),
      )
      .resolves(credentialsAnswer(2, new Date(T0.getTime() + 7200_000)));
    const credentials = assumeRoleCredentials(sts, SETTINGS, () => now);
    expect((await credentials()).accessKeyId).toBe("ASIAROLEKEY1");
    expect((await credentials()).accessKeyId).toBe("ASIAROLEKEY1");
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    // Let the refused AssumeRole settle (promises only, no time passes).
    await new Promise((resolve) => setImmediate(resolve));
    now = new Date(now.getTime() + RENEWAL_RETRY_MS - 1);
    expect((await credentials()).accessKeyId).toBe("ASIAROLEKEY1");
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    now = new Date(now.getTime() + 1);
    await credentials();
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(3);
    await waitFor(async () => (await credentials()).accessKeyId === "ASIAROLEKEY2", "the renewed credentials");
  });

  it("while the old credentials are still good, an STS that never answers holds no pass; once they are not, a pass waits only until its signal aborts", async () => {
    let now = T0;
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      // STS goes silent.
      .callsFake(() => new Promise(() => {}));
    const credentials = assumeRoleCredentials(sts, SETTINGS, () => now);
    await credentials();
    now = new Date(T0.getTime() + 52 * 60_000);
    const pass = new AbortController();
    expect((await credentials({ signal: pass.signal })).accessKeyId).toBe("ASIAROLEKEY1");
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);

    now = new Date(T0.getTime() + 56 * 60_000);
    const waiting = settling(credentials({ signal: pass.signal }));
    pass.abort(new Error("the pass reached its 30 s deadline"));
    await waitFor(() => waiting.done, "the pass to stop waiting");
    // The renewal started in the background goes on (no pass waits for it); this pass is let go.
    expect(waiting.error).toMatchObject({
      name: "AbortError",
      message: `Could not assume role ${ROLE} (with the configured external id): stopped before sts:AssumeRole answered (the AssumeRole goes on for the panel's other calls)`,
    });
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("says which role could not be assumed, and why", async () => {
    stsMock.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: "AccessDenied",
        $fault: "client",
        message: "User: arn:aws:iam::999999999999:role/panel is not authorized to perform: sts:AssumeRole",
        $metadata: {},
      }),
    );
    await expect(assumeRoleCredentials(sts, SETTINGS)()).rejects.toThrow(
      `Could not assume role ${ROLE} (with the configured external id): AccessDenied: User: arn:aws:iam::999999999999:role/panel is not authorized to perform: sts:AssumeRole`,
    );
  });

  it.each([
    [undefined, true],
    [new Date(T0.getTime() + REFRESH_BEFORE_MS), true],
    [new Date(T0.getTime() + REFRESH_BEFORE_MS + 1), false],
    [new Date(T0.getTime() - 1), true],
  ])("credentials expiring at %s need renewal at 12:00: %s", (expiration, renew) => {
    expect(needsRenewal(expiration, T0)).toBe(renew);
  });
});

describe("clients acting as the role", () => {
  /** Records each request's signing headers and answers DescribeServices. */
  function recordingHandler() {
    const seen: { credential: string; token: string | undefined }[] = [];
    const handler = {
      handle: async (request: { headers: Record<string, string> }) => {
        seen.push({
          credential: /Credential=([^/]+)\//.exec(request.headers.authorization ?? "")?.[1] ?? "",
          token: request.headers["x-amz-security-token"],
        });
        return {
          response: new HttpResponse({
            statusCode: 200,
            headers: { "content-type": "application/x-amz-json-1.1" },
            body: Readable.from([Buffer.from(JSON.stringify({ services: [], failures: [] }))]),
          }),
        };
      },
    };
    return { handler: handler as EcsClientOptions["requestHandler"], seen };
  }

  afterEach(() => vi.useRealTimers());

  it("sign every request with the role's credentials, and switch to new ones before the old expire", async () => {
    // Only the date is faked: the SDK decides when to ask for credentials again by its clock.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      .resolves(credentialsAnswer(2, new Date(T0.getTime() + 7200_000)));
    const { handler, seen } = recordingHandler();
    const retry = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 2, requestTimeoutMs: 1000, connectionTimeoutMs: 1000 };
    const clients = createEcsClients({
      region: "eu-west-1",
      retry,
      requestHandler: handler,
      assumedRole: { settings: SETTINGS, credentials: assumeRoleCredentials(sts, SETTINGS) },
    });
    const call = () => clients.ecs.send(new DescribeServicesCommand({ cluster: "shop", services: ["checkout-blue"] }));
    await call();
    vi.setSystemTime(new Date(T0.getTime() + 30 * 60_000));
    await call();
    // Four minutes before they expire: renewed.
    vi.setSystemTime(new Date(T0.getTime() + 56 * 60_000));
    await call();
    await call();
    expect(seen).toEqual([
      { credential: "ASIAROLEKEY1", token: "token-1" },
      { credential: "ASIAROLEKEY1", token: "token-1" },
      { credential: "ASIAROLEKEY2", token: "token-2" },
      { credential: "ASIAROLEKEY2", token: "token-2" },
    ]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("a pass's call starts assuming the role again once less than 10 minutes are left; the SDK signs with the new credentials from 5 minutes before expiry", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      .resolves(credentialsAnswer(2, new Date(T0.getTime() + 7200_000)));
    const { handler, seen } = recordingHandler();
    const retry = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 2, requestTimeoutMs: 1000, connectionTimeoutMs: 1000 };
    const clients = createEcsClients({
      region: "eu-west-1",
      retry,
      requestHandler: handler,
      assumedRole: { settings: SETTINGS, credentials: assumeRoleCredentials(sts, SETTINGS) },
    });
    const pass = withSignal(clients, new AbortController().signal);
    const call = () => pass.ecs.send(new DescribeServicesCommand({ cluster: "shop", services: ["checkout-blue"] }));
    await call();
    // Eight minutes before they expire: assumed again in the background, the old ones still signed with.
    vi.setSystemTime(new Date(T0.getTime() + 52 * 60_000));
    await call();
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    // Four minutes before: the SDK asks for them again, and signs with the new ones.
    vi.setSystemTime(new Date(T0.getTime() + 56 * 60_000));
    await call();
    expect(seen.map((s) => s.credential)).toEqual(["ASIAROLEKEY1", "ASIAROLEKEY1", "ASIAROLEKEY2"]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });
});

describe("the client pool", () => {
  const config = (extra: Record<string, unknown> = {}) => {
    const r = validateEcsConfig(sampleEcsConfigInput(extra));
    if (!r.ok) throw new Error(r.error);
    return r.config;
  };

  it("gives environments of one role the same clients (and credentials), another role its own, and no role the default chain", () => {
    const pool = ecsClientPool({ sts: () => sts });
    try {
      const a = pool(config({ assumeRole: { roleArn: ROLE, externalId: "x1" } }));
      const b = pool(config({ assumeRole: { roleArn: ROLE, externalId: "x1" } }));
      const c = pool(config({ assumeRole: { roleArn: ROLE, externalId: "x2" } }));
      const d = pool(config());
      expect(a).toBe(b);
      expect(c).not.toBe(a);
      expect(a.assumedRole?.settings).toEqual({
        roleArn: ROLE,
        externalId: "x1",
        sessionName: "greenlight",
        durationSeconds: 3600,
      });
      expect(d.assumedRole).toBeUndefined();
    } finally {
      pool.close();
    }
  });

  it("verification says whether the role can be assumed, and reads nothing without it", async () => {
    stsMock.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: "AccessDenied",
        $fault: "client",
        message: "not authorized to perform: sts:AssumeRole",
        $metadata: {},
      }),
    );
    const pool = ecsClientPool({ sts: () => sts });
    try {
      const cfg = config({ assumeRole: { roleArn: ROLE, externalId: "x1" } });
      const result = await verifyEcsConfigAgainstAws(pool(cfg), cfg, "environment production of checkout");
      expect(result.problems).toEqual([
        `role: Could not assume role ${ROLE} (with the configured external id): AccessDenied: not authorized to perform: sts:AssumeRole`,
      ]);
      expect(result.checks.map((c) => c.check)).toEqual(["role"]);
    } finally {
      pool.close();
    }
  });
});

describe("a silent STS endpoint (a real socket on 127.0.0.1 that accepts and never answers)", () => {
  let silent: SilentServer;
  let host: string;
  beforeEach(async () => {
    silent = await startSilentServer();
    host = silent.url.slice("http://".length);
  });
  afterEach(() => silent.close());

  /** Only the pass's signal can end these attempts soon: a minute each, five of them. */
  const PATIENT: RetrySettings = {
    maxAttempts: 5,
    baseDelayMs: 1,
    maxDelayMs: 2,
    requestTimeoutMs: 60_000,
    connectionTimeoutMs: 1000,
  };

  it("a pass whose role must be assumed is stopped by the pass's signal within its deadline, naming sts:AssumeRole and the endpoint", async () => {
    const raw = sampleEcsConfigInput({
      assumeRole: { roleArn: ROLE, externalId: "checkout-prod-7f3a" },
      retry: PATIENT,
      pollIntervalMs: 0,
    });
    const env: EnvironmentRef = {
      id: "env-1",
      serviceSlug: "checkout",
      name: "production",
      target: "ecs",
      targetConfig: raw,
    };
    // STS and every other service at the silent endpoint, as the panel builds them.
    const pool = ecsClientPool({ endpoint: silent.url });
    const target = new EcsTarget({ clients: pool });
    const DEADLINE_MS = 500;
    try {
      const pass = settling(target.observe(env, { signal: AbortSignal.timeout(DEADLINE_MS) }));
      // Its deadline, with room for a loaded machine: far below one attempt's minute.
      await waitFor(() => pass.done, "the pass to be stopped", DEADLINE_MS + 5_000);
      expect(pass.error).toBeInstanceOf(Error);
      expect(pass.error?.message).toBe(
        `Could not assume role ${ROLE} (with the configured external id): sts:AssumeRole at ${host} was stopped before AWS answered`,
      );
      // Only the AssumeRole went out, and its connection was let go.
      expect(silent.connections()).toBe(1);
      await waitFor(() => silent.open() === 0, "the AssumeRole's connection to close");
    } finally {
      pool.close();
    }
  });

  it("an AssumeRole that gets no answer fails naming the call and the endpoint", async () => {
    const silentSts = createStsClient({
      region: "eu-west-1",
      retry: { ...PATIENT, maxAttempts: 2, requestTimeoutMs: 300 },
      endpoint: silent.url,
    });
    try {
      await expect(assumeRoleCredentials(silentSts, SETTINGS)()).rejects.toThrow(
        new Error(
          `Could not assume role ${ROLE} (with the configured external id): AWS did not answer sts:AssumeRole at ${host} within 300 ms (2 attempts)`,
        ),
      );
      expect(silent.connections()).toBe(2);
    } finally {
      silentSts.destroy();
    }
  });

  it("one AssumeRole for every caller: one caller's deadline lets it go on for the others, and the last to stop waiting stops it", async () => {
    const silentSts = createStsClient({ region: "eu-west-1", retry: PATIENT, endpoint: silent.url });
    try {
      const credentials = assumeRoleCredentials(silentSts, SETTINGS);
      const first = new AbortController();
      const second = new AbortController();
      const a = settling(credentials({ signal: first.signal }));
      const b = settling(credentials({ signal: second.signal }));
      await waitFor(() => silent.open() === 1, "the AssumeRole to reach the endpoint");

      first.abort(new Error("the pass reached its 30 s deadline"));
      await waitFor(() => a.done, "the first caller to stop waiting");
      expect(a.error).toMatchObject({
        name: "AbortError",
        message: `Could not assume role ${ROLE} (with the configured external id): stopped before sts:AssumeRole answered (the AssumeRole goes on for the panel's other calls)`,
      });
      expect(b.done).toBe(false);
      expect(silent.open()).toBe(1);

      second.abort(new Error("the pass reached its 30 s deadline"));
      await waitFor(() => b.done, "the second caller to stop waiting");
      expect(b.error?.message).toBe(
        `Could not assume role ${ROLE} (with the configured external id): sts:AssumeRole at ${host} was stopped before AWS answered`,
      );
      await waitFor(() => silent.open() === 0, "the AssumeRole's connection to close");
      expect(silent.connections()).toBe(1);
    } finally {
      silentSts.destroy();
    }
  });
});
