/**
 * The clients of the API benchmark, in their own process (so they do not share the panel's event
 * loop): each one is a browser tab on a deployment's page. It opens one Socket.io connection (its
 * session cookie, the panel's Origin) and joins the page's rooms, loads the page's queries as the
 * page does (deployments.get with me.notifications in one batch, then environments.metrics from a
 * minute before the deployment started, as useDeploymentMetrics asks), then
 * refetches deployments.get every 5 s and whenever a deployment:changed event says so, and
 * me.notifications every 60 s. Every tRPC request's latency is recorded; the parent gets them over IPC.
 */
import { io, type Socket } from "socket.io-client";
import superjson from "superjson";

interface Job {
  url: string;
  clients: { cookie: string; deploymentId: string; environmentId: string }[];
  seconds: number;
}

const latencies: number[] = [];
/** Latencies by what the request asked for ("deployments.get,me.notifications"). */
const byRequest: Record<string, number[]> = {};
let calls = 0;
let errors = 0;
const errorSamples: string[] = [];
let stopping = false;

function note(error: string): void {
  errors++;
  if (errorSamples.length < 5) errorSamples.push(error);
}

/** One batched tRPC GET, as httpBatchLink sends it; its latency is recorded. */
async function query(
  url: string,
  cookie: string,
  batch: { path: string; input: unknown }[],
): Promise<unknown[] | null> {
  const input = Object.fromEntries(batch.map((c, i) => [String(i), superjson.serialize(c.input)]));
  const started = performance.now();
  try {
    const response = await fetch(
      `${url}/api/trpc/${batch.map((c) => c.path).join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`,
      { headers: { Cookie: cookie } },
    );
    const body = (await response.json()) as { result?: { data: unknown }; error?: unknown }[];
    const ms = performance.now() - started;
    latencies.push(ms);
    const label = batch.map((c) => c.path).join(",");
    (byRequest[label] ??= []).push(ms);
    calls += batch.length;
    const failed = body.filter((item) => item.error);
    if (!response.ok || failed.length) {
      note(`HTTP ${response.status}: ${JSON.stringify(failed[0] ?? body).slice(0, 200)}`);
      return null;
    }
    return body.map((item) => superjson.deserialize(item.result!.data as never));
  } catch (error) {
    note((error as Error).message);
    return null;
  }
}

async function connect(url: string, cookie: string, rooms: string[]): Promise<Socket> {
  const socket = io(url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    extraHeaders: { Cookie: cookie, Origin: new URL(url).origin },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => socket.emit("subscribe", rooms, () => resolve()));
    socket.once("connect_error", reject);
  });
  return socket;
}

async function tab(url: string, client: Job["clients"][number], startDelayMs: number): Promise<Socket | null> {
  await new Promise((resolve) => setTimeout(resolve, startDelayMs));
  let socket: Socket;
  try {
    socket = await connect(url, client.cookie, [`deployment:${client.deploymentId}`, `env:${client.environmentId}`]);
  } catch (error) {
    note(`socket: ${(error as Error).message}`);
    return null;
  }
  let inFlight = false;
  const refetch = async () => {
    if (inFlight || stopping) return;
    inFlight = true;
    await query(url, client.cookie, [{ path: "deployments.get", input: { id: client.deploymentId } }]);
    inFlight = false;
  };
  socket.on("deployment:changed", () => void refetch());
  socket.on("disconnect", (reason) => !stopping && note(`socket disconnected: ${reason}`));
  // The page load: the deployment and the notification bell together, then the chart's history.
  const loaded = await query(url, client.cookie, [
    { path: "deployments.get", input: { id: client.deploymentId } },
    { path: "me.notifications", input: undefined },
  ]);
  // The charts' history, as the page asks for it: from a minute before the deployment started.
  const startedAt = (loaded?.[0] as { startedAt?: Date } | undefined)?.startedAt;
  if (startedAt)
    await query(url, client.cookie, [
      {
        path: "environments.metrics",
        input: { environmentId: client.environmentId, from: new Date(startedAt.getTime() - 60_000) },
      },
    ]);
  const every5 = setInterval(() => void refetch(), 5000);
  const every60 = setInterval(
    () => void query(url, client.cookie, [{ path: "me.notifications", input: undefined }]),
    60_000,
  );
  socket.once("disconnect", () => {
    clearInterval(every5);
    clearInterval(every60);
  });
  refetchTimers.push(every5, every60);
  return socket;
}

/** Every tab's refetch timers, cleared when the run ends. */
const refetchTimers: NodeJS.Timeout[] = [];

process.once("message", (job: Job) => void runJob(job));

async function runJob(job: Job): Promise<void> {
  // Tabs open over the first five seconds (one refetch interval), as people arrive, not all at once.
  const sockets = await Promise.all(
    job.clients.map((client, i) => tab(job.url, client, (i / job.clients.length) * 5000)),
  );
  const connected = sockets.filter((s): s is Socket => s !== null).length;
  await new Promise((resolve) => setTimeout(resolve, job.seconds * 1000));
  stopping = true;
  for (const timer of refetchTimers) clearInterval(timer);
  for (const socket of sockets) {
    socket?.close();
  }
  process.send!({ latencies, byRequest, calls, errors, errorSamples, connected }, () => process.exit(0));
}
