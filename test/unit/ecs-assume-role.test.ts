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
import { assumeRoleCredentials, needsRenewal, REFRESH_BEFORE_MS } from "../../server/targets/ecs/assume-role.ts";
import { createEcsClients, ecsClientPool, type EcsClientOptions } from "../../server/targets/ecs/clients.ts";
import { validateEcsConfig, type AssumeRoleSettings } from "../../server/targets/ecs/config.ts";
import { verifyEcsConfigAgainstAws } from "../../server/targets/ecs/verify.ts";
import { useStaticAwsCredentials } from "../helpers/aws-env.ts";
import { sampleEcsConfigInput } from "../helpers/fake-aws.ts";

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

  it("renews them before they expire, once for every caller waiting at that moment", async () => {
    let now = T0;
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAnswer(1, new Date(T0.getTime() + 3600_000)))
      .resolves(credentialsAnswer(2, new Date(T0.getTime() + 7200_000)));
    const credentials = assumeRoleCredentials(sts, SETTINGS, () => now);
    await credentials();
    now = new Date(T0.getTime() + 3600_000 - REFRESH_BEFORE_MS);
    const all = await Promise.all([credentials(), credentials(), credentials()]);
    expect(all.map((c) => c.accessKeyId)).toEqual(["ASIAROLEKEY2", "ASIAROLEKEY2", "ASIAROLEKEY2"]);
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
