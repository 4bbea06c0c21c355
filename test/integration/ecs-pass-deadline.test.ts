/**
 * A silent AWS endpoint cannot hold a deployment: a real TCP server on 127.0.0.1 accepts every
 * connection and never answers. Deployment A (rolling back) talks to it through the real SDK
 * clients, with a request timeout far longer than the pass deadline, so only the deadline can end
 * its passes; deployment B, on another environment (AWS in memory through aws-sdk-client-mock),
 * goes on reconciling meanwhile. Once A's AWS answers again, A's rollback completes.
 *
 * The reconciler and the fakes share a clock that runs 240× faster than the wall clock (CloudWatch
 * periods are a minute); the pass deadline is real time.
 */
import { DEFAULT_GATES } from "../../server/releases/policy.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { verifyAuditChain } from "../../server/audit/verify.ts";
import { runCommand, startDeployment } from "../../server/releases/commands.ts";
import type { Policy } from "../../server/releases/policy.ts";
import type { Reconciler } from "../../server/releases/reconciler.ts";
import { createEcsClients, destroyEcsClients, type EcsClients } from "../../server/targets/ecs/clients.ts";
import { validateEcsConfig, type EcsConfig } from "../../server/targets/ecs/config.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { useStaticAwsCredentials } from "../helpers/aws-env.ts";
import { ecsReconciler, seedEcsEnvironment } from "../helpers/ecs-environment.ts";
import { FakeAws, mockAws, sampleEcsConfigInput } from "../helpers/fake-aws.ts";
import { startSilentServer, type SilentServer } from "../helpers/silent-server.ts";
import { waitFor } from "../helpers/wait.ts";

const SPEED = 240;
const t0 = Date.now();
const clock = () => new Date(t0 + (Date.now() - t0) * SPEED);
const DEADLINE_MS = 2000;

const POLICY: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 60,
  gates: { ...DEFAULT_GATES, minRequests: 20, errorRate: { marginPp: 1, maxPercent: 1 } },
  validationSeconds: 60,
  scaleDownDelaySeconds: 3600,
  greenReadyTimeoutSeconds: 3600,
  smokeTests: [],
};
// A bakes for a day: it waits at its first step until the test rolls it back.
const LONG_BAKE: Policy = { ...POLICY, bakeSeconds: 86_400 };

// The SDK's default chain finds static keys first: no profile, no instance metadata is asked.
useStaticAwsCredentials();

let db: TestDatabase;
let reconciler: Reconciler;
let silent: SilentServer;
let silentClients: EcsClients;
let aIsSilent = false;
const fakes: Record<"a" | "b", FakeAws> = {} as never;
const envIds: Record<"a" | "b", string> = {} as never;
/** Release ids per environment (each environment is its own service: no promotion order between them). */
const releases: Record<"a" | "b", Record<string, string>> = { a: {}, b: {} };

function configFor(cluster: string) {
  return sampleEcsConfigInput({
    cluster,
    steadyStateTimeoutSeconds: 7200,
    metricsDelaySeconds: 0,
    pollIntervalMs: 0,
    // Each attempt could wait a minute: only the pass deadline can end a pass against the silent endpoint.
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20, requestTimeoutMs: 60_000, connectionTimeoutMs: 5_000 },
  });
}

beforeAll(async () => {
  // Accepts, reads, never answers.
  silent = await startSilentServer();

  db = await openTestDatabase();
  const prisma = db.prisma;

  const mocked = new Map<string, EcsClients>();
  const configs: Record<"a" | "b", EcsConfig> = {} as never;
  for (const [key, cluster, policy] of [
    ["a", "shop-a", LONG_BAKE],
    ["b", "shop-b", POLICY],
  ] as const) {
    const raw = configFor(cluster);
    const parsed = validateEcsConfig(raw);
    if (!parsed.ok) throw new Error(parsed.error);
    configs[key] = parsed.config;
    const fake = new FakeAws(parsed.config, clock);
    const clients = createEcsClients({ region: parsed.config.region, retry: parsed.config.retry });
    mockAws(fake, clients);
    mocked.set(cluster, clients);
    fakes[key] = fake;
    const seeded = await seedEcsEnvironment(prisma, fake, {
      targetConfig: raw,
      policy,
      versions: ["1.0.0", "1.1.0"],
      slug: `checkout-${key}`,
    });
    releases[key] = seeded.releases;
    envIds[key] = seeded.environmentId;
  }
  // Real clients, real sockets: the endpoint is the silent server.
  silentClients = createEcsClients({ region: "eu-west-1", retry: configs.a.retry, endpoint: silent.url });

  ({ reconciler } = ecsReconciler({
    prisma,
    clients: (config) => (config.cluster === "shop-a" && aIsSilent ? silentClients : mocked.get(config.cluster)!),
    now: clock,
    passDeadlineMs: DEADLINE_MS,
  }));
  reconciler.start();
});

afterAll(async () => {
  await reconciler?.stop();
  if (silentClients) destroyEcsClients(silentClients);
  await silent?.close();
  await db?.close();
});

const deployment = (id: string) =>
  db.prisma.deployment.findUniqueOrThrow({ where: { id }, include: { events: { orderBy: { seq: "asc" } } } });
const start = async (env: "a" | "b") => {
  const d = await startDeployment(db.prisma, systemActor(), {
    releaseId: releases[env]["1.1.0"]!,
    environmentId: envIds[env],
  });
  reconciler.kick(d.id);
  return d.id;
};
const describeServicesCalls = (env: "a" | "b") =>
  fakes[env].calls.filter((c) => c.action === "ecs:DescribeServices").length;

describe("a pass against an AWS endpoint that accepts and never answers", () => {
  it("fails at its deadline with a clear message, backs off, never holds up another deployment, and the rollback completes once AWS answers", async () => {
    const a = await start("a");
    // A reaches its first step (10% on green) and bakes there.
    await waitFor(async () => (await deployment(a)).stepReachedAt !== null, "A to reach its first step", 30_000, 100);
    expect(fakes.a.weights()).toEqual({ blue: 90, green: 10 });

    // A's AWS goes silent; someone rolls A back.
    aIsSilent = true;
    await runCommand(db.prisma, systemActor(), "rollback", {
      deploymentId: a,
      reason: "test: roll back while AWS is silent",
    });
    reconciler.kick(a);
    await waitFor(() => silent.open() > 0, "A's pass to be waiting on the silent endpoint", 10_000);
    const bCallsWhenAStuck = describeServicesCalls("b");

    // While A's pass hangs, B starts and is reconciled pass after pass.
    const b = await start("b");
    const firstFailure = await waitFor(
      async () => {
        const d = await deployment(a);
        return d.statusDetail?.startsWith("Retrying after an error (1/") ? d.statusDetail : undefined;
      },
      "A's first pass to fail",
      30_000,
      50,
    );
    const bCallsWhileAStuck = describeServicesCalls("b") - bCallsWhenAStuck;
    expect(bCallsWhileAStuck, "B's passes ran while A's pass hung").toBeGreaterThanOrEqual(2);

    // The message says which call got no answer, from where, and that the deadline ended it.
    expect(firstFailure).toMatch(
      new RegExp(
        `^Retrying after an error \\(1/8\\): (ecs:DescribeServices|elasticloadbalancing:DescribeListeners) at 127\\.0\\.0\\.1:${new URL(silent.url).port} was stopped before AWS answered \\(the pass reached its 2 s deadline\\)$`,
      ),
    );

    // It backs off and tries again (a rollback is never paused for errors).
    await waitFor(
      async () => /^Retrying after an error \(2\//.test((await deployment(a)).statusDetail ?? ""),
      "A's second pass to fail",
      30_000,
      50,
    );
    expect(silent.connections()).toBeGreaterThanOrEqual(2);
    expect((await deployment(a)).status).toBe("rolling_back");
    // Nothing was written to A's AWS while it was silent.
    expect(fakes.a.weights()).toEqual({ blue: 90, green: 10 });

    // AWS answers again: the rollback completes, traffic first.
    aIsSilent = false;
    await waitFor(async () => (await deployment(a)).status === "rolled_back", "A's rollback to complete", 30_000, 100);
    expect(fakes.a.weights()).toEqual({ blue: 100, green: 0 });
    expect(fakes.a.service("green").desiredCount).toBe(0);
    const events = (await deployment(a)).events.map((e) => e.kind);
    expect(events.indexOf("traffic_restored")).toBeGreaterThan(events.indexOf("command_rollback"));

    await waitFor(
      async () => ["succeeded", "rolled_back", "failed"].includes((await deployment(b)).status),
      "B to finish",
      30_000,
      100,
    );
    expect((await deployment(b)).status).toBe("succeeded");
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true });
  });
});
