/**
 * greenlight: the panel's CLI for CI jobs (commander). It talks to the pipeline API with a
 * per-service token: GREENLIGHT_URL and GREENLIGHT_TOKEN. Exit status: 0 success, 2 rolled back,
 * 3 refused by governance, 1 anything else (see exit-codes.ts and docs/ci.md).
 */
import { execFileSync } from "node:child_process";
import { Command, InvalidArgumentError, Option } from "commander";
import type { z } from "zod";
import type { releaseBody, serviceBody } from "../server/pipelines/api.ts";
import { ApiError, createApiClient, segment, UnreachableError, type ApiClient } from "./api-client.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { EXIT, exitCodeForStartRefusal, exitCodeForVerdict, type ExitCode } from "./exit-codes.ts";
import { followDeployment } from "./follow.ts";
import { describeDeployment, describeFailure, type DeploymentAnswer } from "./report.ts";

type ReleaseAnswer = z.infer<typeof releaseBody>;
type ServiceAnswer = z.infer<typeof serviceBody>;

class UsageError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** The one place the CLI reads its environment. */
function clientFromEnvironment(env: NodeJS.ProcessEnv): ApiClient {
  const url = env.GREENLIGHT_URL?.trim();
  const token = env.GREENLIGHT_TOKEN?.trim();
  if (!url) throw new UsageError("GREENLIGHT_URL is not set: the panel's address, e.g. https://greenlight.example.com");
  if (!/^https?:\/\//.test(url))
    throw new UsageError(`GREENLIGHT_URL must be an http:// or https:// URL (got "${url}")`);
  if (!token)
    throw new UsageError(
      "GREENLIGHT_TOKEN is not set: a token from the service's page in the panel (Service → CI tokens)",
    );
  return createApiClient(url, token);
}

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === null) throw new InvalidArgumentError("must be a duration such as 30m, 90s, 1h or 500ms");
  return ms;
}

function json(value: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw new InvalidArgumentError("must be a JSON object, e.g. '{\"failureRate\":0.3}'");
}

/** The commit's time from the local git repository, when the job runs in one. */
function commitTimeFromGit(sha: string): string | null {
  // A commit is a hex object name; anything else (an option such as --output=…) is never handed to git.
  if (!/^[0-9a-f]{4,64}$/i.test(sha)) return null;
  try {
    return (
      execFileSync("git", ["show", "-s", "--format=%cI", "--end-of-options", sha], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim() || null
    );
  } catch {
    return null;
  }
}

async function createRelease(
  client: ApiClient,
  o: {
    service: string;
    version: string;
    artifact: string;
    commit?: string;
    commitTime?: string;
    notes?: string;
    settings?: Record<string, unknown>;
  },
): Promise<ExitCode> {
  let commitTime = o.commitTime;
  if (o.commit && !commitTime) {
    commitTime = commitTimeFromGit(o.commit) ?? undefined;
    if (commitTime) out(`Commit ${o.commit.slice(0, 12)} was made at ${commitTime} (from git)`);
  }
  const release = await client.post<ReleaseAnswer>(`/api/v1/services/${segment(o.service)}/releases`, {
    version: o.version,
    artifact: o.artifact,
    ...(o.commit ? { commitSha: o.commit } : {}),
    ...(commitTime ? { commitTime } : {}),
    ...(o.notes ? { notes: o.notes } : {}),
    ...(o.settings ? { settings: o.settings } : {}),
  });
  out(
    `Created release ${release.version} of ${release.service} (${release.artifact})${release.commitSha ? ` at commit ${release.commitSha.slice(0, 12)}` : ""}`,
  );
  return EXIT.ok;
}

async function deploy(
  client: ApiClient,
  o: { service: string; version: string; env: string; wait?: boolean; timeout: number; poll: number },
): Promise<ExitCode> {
  let started: DeploymentAnswer;
  try {
    started = await client.post<DeploymentAnswer>(`/api/v1/services/${segment(o.service)}/deployments`, {
      version: o.version,
      environment: o.env,
    });
  } catch (error) {
    if (error instanceof ApiError) {
      const code = exitCodeForStartRefusal(error.status);
      err(code === EXIT.refused ? `Refused by governance: ${error.message}` : `Could not start: ${error.message}`);
      return code;
    }
    throw error;
  }
  out(`Started deployment ${started.id}: ${started.service} ${started.version} → ${started.environment}`);
  out(`  ${started.url}`);
  if (!o.wait) return EXIT.ok;
  const startedAt = Date.now();
  const result = await followDeployment(client, started.id, { timeoutMs: o.timeout, pollMs: o.poll, print: out });
  if (!result.ended) {
    err(
      `Timed out after ${formatDuration(o.timeout)} (${result.reason}); the deployment goes on in the panel: ${started.url}`,
    );
    return EXIT.error;
  }
  const d = result.deployment;
  const took = formatDuration(Date.now() - startedAt);
  const code = exitCodeForVerdict(d.verdict);
  if (code === EXIT.ok) out(`Succeeded: ${d.version} is live in ${d.environment} (${took})`);
  else if (code === EXIT.rolledBack) {
    err(
      `${d.verdict === "failed" ? "Failed" : "Rolled back"}: ${d.version} did not go live in ${d.environment} (${took})`,
    );
    for (const line of describeFailure(d)) err(line);
  } else err(`Ended ${d.verdict.replace(/_/g, " ")}: ${d.failureReason ?? "see the panel"} (${d.url})`);
  return code;
}

async function evidence(
  client: ApiClient,
  o: { service: string; version: string; item: string; status: string; url?: string; details?: string; env?: string },
): Promise<ExitCode> {
  const result = await client.post<{ item: string; status: string; environments: string[] }>(
    `/api/v1/services/${segment(o.service)}/releases/${segment(o.version)}/evidence`,
    {
      item: o.item,
      status: o.status,
      ...(o.url ? { url: o.url } : {}),
      ...(o.details ? { details: o.details } : {}),
      ...(o.env ? { environment: o.env } : {}),
    },
  );
  out(`Evidence ${result.item}: ${result.status} for ${o.version} in ${result.environments.join(", ")}`);
  return EXIT.ok;
}

async function status(
  client: ApiClient,
  o: { service: string; version?: string; env?: string; deployment?: string; json?: boolean },
): Promise<ExitCode> {
  const print = (value: unknown, lines: string[]) =>
    o.json ? out(JSON.stringify(value, null, 2)) : lines.forEach((line) => out(line));
  if (o.deployment) {
    const d = await client.get<DeploymentAnswer>(`/api/v1/deployments/${segment(o.deployment)}`);
    print(d, [
      ...describeDeployment(d),
      ...(d.verdict === "rolled_back" || d.verdict === "failed" ? describeFailure(d) : []),
    ]);
    return EXIT.ok;
  }
  if (o.version) {
    const release = await client.get<ReleaseAnswer>(
      `/api/v1/services/${segment(o.service)}/releases/${segment(o.version)}`,
    );
    const latest = o.env ? release.deployments.find((d) => d.environment === o.env) : undefined;
    if (o.env && !latest) throw new UsageError(`${release.version} has not been deployed to ${o.env}`);
    if (latest) {
      const d = await client.get<DeploymentAnswer>(`/api/v1/deployments/${segment(latest.id)}`);
      print(d, [
        ...describeDeployment(d),
        ...(d.verdict === "rolled_back" || d.verdict === "failed" ? describeFailure(d) : []),
      ]);
      return EXIT.ok;
    }
    print(release, [
      `Release ${release.version} of ${release.service}: ${release.artifact}`,
      ...(release.commitSha
        ? [`  commit ${release.commitSha}${release.commitTime ? ` (${release.commitTime})` : ""}`]
        : []),
      ...(release.deployments.length
        ? release.deployments.map(
            (d) => `  ${d.environment}: ${d.status.replace(/_/g, " ")} (started ${d.startedAt}) ${d.id}`,
          )
        : ["  not deployed yet"]),
    ]);
    return EXIT.ok;
  }
  const service = await client.get<ServiceAnswer>(`/api/v1/services/${segment(o.service)}`);
  print(service, [
    `${service.name} (${service.slug})`,
    ...service.environments.map(
      (e) =>
        `  ${e.name}${e.production ? " (production)" : ""}: ${e.liveVersion ?? "nothing live"}${e.activeDeployment ? `; deploying ${e.activeDeployment.version} (${e.activeDeployment.status.replace(/_/g, " ")}) ${e.activeDeployment.id}` : ""}`,
    ),
  ]);
  return EXIT.ok;
}

/** Runs one command line; resolves to the exit status. */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const action =
    <T>(fn: (client: ApiClient, options: T) => Promise<ExitCode>) =>
    async (options: T) => {
      code = await fn(clientFromEnvironment(env), options);
    };

  const program = new Command("greenlight")
    .description(
      "Create releases, post checklist evidence and deploy through Greenlight from CI.\nReads GREENLIGHT_URL and GREENLIGHT_TOKEN.",
    )
    .showHelpAfterError()
    .exitOverride();
  const service = () => new Option("--service <slug>", "the service's slug, e.g. checkout").makeOptionMandatory();

  program
    .command("release")
    .description("releases")
    .command("create")
    .description("create a release")
    .addOption(service())
    .requiredOption("--version <version>", "the release's version, e.g. 1.4.2")
    .requiredOption("--artifact <artifact>", "what is deployed, e.g. registry.example.com/checkout:1.4.2")
    .option("--commit <sha>", "the git commit it was built from")
    .option("--commit-time <iso>", "when that commit was made (default: read from git when --commit is given)")
    .option("--notes <text>", "release notes")
    .option("--settings <json>", "settings handed to the release's processes on the local target", json)
    .action(action(createRelease));

  program
    .command("deploy")
    .description("start deploying a release to an environment; with --wait, follow it to its verdict")
    .addOption(service())
    .requiredOption("--version <version>", "the release's version")
    .requiredOption("--env <environment>", "the environment's name, e.g. staging")
    .option(
      "--wait",
      "print each step as it happens and exit with the verdict (0 succeeded, 2 rolled back, 3 refused, 1 otherwise)",
    )
    .addOption(
      new Option("--timeout <duration>", "how long --wait waits").argParser(duration).default(30 * 60_000, "30m"),
    )
    .addOption(
      new Option("--poll <duration>", "how often --wait asks the panel").argParser(duration).default(2000, "2s"),
    )
    .action(action(deploy));

  program
    .command("evidence")
    .description("post the result of an automatic checklist item (e.g. tests_passing) for a release")
    .addOption(service())
    .requiredOption("--version <version>", "the release's version")
    .requiredOption("--item <key>", "the checklist item's key, e.g. tests_passing, security_scan")
    .addOption(new Option("--status <status>", "the result").choices(["passed", "failed"]).makeOptionMandatory())
    .option("--url <url>", "a link to the CI run or report")
    .option("--details <text>", "a short description")
    .option("--env <environment>", "only this environment's checklist (default: every environment with the item)")
    .action(action(evidence));

  program
    .command("status")
    .description("what is live where; a release's deployments; or one deployment")
    .addOption(service())
    .option("--version <version>", "a release of the service")
    .option("--env <environment>", "with --version: its latest deployment to this environment")
    .option("--deployment <id>", "one deployment")
    .option("--json", "print the API's answer as JSON")
    .action(action(status));

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (error) {
    if (error && typeof error === "object" && "exitCode" in error && "code" in error) {
      // commander has printed its own message (or the help): help is success, a usage error is not.
      return (error as { exitCode: number }).exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    if (error instanceof ApiError) err(`Error (HTTP ${error.status}): ${error.message}`);
    else if (error instanceof UsageError || error instanceof UnreachableError) err(`Error: ${error.message}`);
    else err(`Error: ${(error as Error).message ?? String(error)}`);
    return EXIT.error;
  }
}
