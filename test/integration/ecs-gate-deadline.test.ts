/**
 * The gates' CloudWatch calls stop at the pass's deadline, in the panel's own wiring: the reconciler
 * gets its drivers and its metric source from the target registry (`reconcilerTargets`, as
 * server/panel.ts does), so a step's GetMetricData goes through `TargetRegistry.metrics`. A real TCP
 * server on 127.0.0.1 stands in for CloudWatch gone silent (it accepts and never answers); ECS and
 * the load balancer answer in memory (aws-sdk-client-mock). A CloudWatch call could wait a minute,
 * so only the pass's signal can end the call within the deadline.
 *
 * The reconciler and the fake share a clock 240× faster than the wall clock (CloudWatch periods are
 * a minute); the pass deadline is real time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../server/audit/actor.ts";
import { startDeployment } from "../../server/releases/commands.ts";
import { DEFAULT_GATES, type Policy } from "../../server/releases/policy.ts";
import type { Reconciler } from "../../server/releases/reconciler.ts";
import { createEcsClients, destroyEcsClients, type EcsClients } from "../../server/targets/ecs/clients.ts";
import { validateEcsConfig } from "../../server/targets/ecs/config.ts";
import { useStaticAwsCredentials } from "../helpers/aws-env.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { ecsReconciler, seedEcsEnvironment } from "../helpers/ecs-environment.ts";
import { FakeAws, mockAws, sampleEcsConfigInput } from "../helpers/fake-aws.ts";
import { startSilentServer, type SilentServer } from "../helpers/silent-server.ts";
import { waitFor } from "../helpers/wait.ts";

const SPEED = 240;
const t0 = Date.now();
const clock = () => new Date(t0 + (Date.now() - t0) * SPEED);
const DEADLINE_MS = 2000;

// The deployment bakes at its first step for a day: every pass reads the step's window from CloudWatch.
const BAKING: Policy = {
  steps: [10, 50, 100],
  bakeSeconds: 86_400,
  gates: { ...DEFAULT_GATES, minRequests: 20, errorRate: { marginPp: 1, maxPercent: 1 } },
  validationSeconds: 60,
  scaleDownDelaySeconds: 3600,
  greenReadyTimeoutSeconds: 3600,
  smokeTests: [],
};

// The SDK's default chain finds static keys first: no profile, no instance metadata is asked.
useStaticAwsCredentials();

let db: TestDatabase;
let reconciler: Reconciler;
let silent: SilentServer;
let silentClients: EcsClients;
let cloudWatchSilent = false;
let fake: FakeAws;
let environmentId: string;
let newRelease: string;

beforeAll(async () => {
  silent = await startSilentServer();
  db = await openTestDatabase();
  const prisma = db.prisma;

  const raw = sampleEcsConfigInput({
    steadyStateTimeoutSeconds: 7200,
    metricsDelaySeconds: 0,
    pollIntervalMs: 0,
    // A call could wait a minute (2 attempts of 30 s): only the pass's signal can end it within the deadline.
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, requestTimeoutMs: 30_000, connectionTimeoutMs: 5_000 },
  });
  const parsed = validateEcsConfig(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  fake = new FakeAws(parsed.config, clock);
  const mocked = createEcsClients({ region: parsed.config.region, retry: parsed.config.retry });
  mockAws(fake, mocked);
  const seeded = await seedEcsEnvironment(prisma, fake, {
    targetConfig: raw,
    policy: BAKING,
    versions: ["1.0.0", "1.1.0"],
  });
  environmentId = seeded.environmentId;
  newRelease = seeded.releases["1.1.0"]!;
  // Real clients, real sockets: CloudWatch's endpoint is the silent server.
  silentClients = createEcsClients({ region: "eu-west-1", retry: parsed.config.retry, endpoint: silent.url });

  ({ reconciler } = ecsReconciler({
    prisma,
    clients: () => (cloudWatchSilent ? { ...mocked, cloudwatch: silentClients.cloudwatch } : mocked),
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

const deployment = (id: string) => db.prisma.deployment.findUniqueOrThrow({ where: { id } });

describe("a step's gates against a CloudWatch that accepts and never answers", () => {
  it("the pass's deadline stops GetMetricData, the message names the call and the endpoint, and the next pass follows", async () => {
    const d = await startDeployment(db.prisma, systemActor(), { releaseId: newRelease, environmentId });
    reconciler.kick(d.id);
    await waitFor(async () => (await deployment(d.id)).stepReachedAt !== null, "the first step", 30_000, 100);
    const gateReads = () => fake.calls.filter((c) => c.action === "cloudwatch:GetMetricData").length;
    await waitFor(() => gateReads() > 0, "the gates to read CloudWatch");

    cloudWatchSilent = true;
    await waitFor(() => silent.open() > 0, "a gate call waiting on the silent endpoint", 10_000);
    const firstFailure = await waitFor(
      async () => {
        const detail = (await deployment(d.id)).statusDetail;
        return detail?.startsWith("Retrying after an error (1/") ? detail : undefined;
      },
      "the first pass to fail",
      30_000,
      50,
    );
    // Not "The pass did not finish": the call itself was stopped, and says which call and where.
    expect(firstFailure).toBe(
      `Retrying after an error (1/8): cloudwatch:GetMetricData at 127.0.0.1:${new URL(silent.url).port} was stopped before AWS answered (the pass reached its 2 s deadline)`,
    );
    // The call let go of its connection: nothing is left waiting on CloudWatch beyond the deadline.
    await waitFor(() => silent.open() === 0, "the stopped call's connection to close", 5_000);

    // The deployment is not held until the SDK gives up (a minute): its next pass
    // fails at its own deadline, seconds later.
    await waitFor(
      async () => /^Retrying after an error \(2\//.test((await deployment(d.id)).statusDetail ?? ""),
      "the second pass to fail",
      15_000,
      50,
    );
    expect((await deployment(d.id)).status).toBe("shifting");
    expect(fake.weights()).toEqual({ blue: 90, green: 10 });
  });
});
