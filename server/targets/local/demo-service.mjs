// The demo service the local target runs in each slot (blue or green). Plain JavaScript on purpose:
// `node demo-service.mjs` starts in well under a second, with nothing but node:http and `ws`.
//
// Configured by environment:
//   PORT                              port to listen on (0 = any); prints `GREENLIGHT_LISTENING <port>`
//   GREENLIGHT_TOKEN                  proves to the panel that this process is the one it started
//   RELEASE_VERSION, SLOT             reported by /health, /api/v1/version, identity and WebSocket hello
//   RELEASE_SETTINGS                  JSON: failureRate (0..1), latencyMs, latencyJitterMs,
//                                     startupDelayMs, healthy (default true), exitAfterMs
//   GREENLIGHT_ORPHAN_GRACE_SECONDS   see the orphan watchdog below (default 300)
//   GREENLIGHT_PARENT_PID             the process that started us, when it is not our direct parent
//   HOST                              interface to listen on (default 127.0.0.1)
//
// GET /metrics answers in Prometheus's text format, with the names most services use, so that
// Prometheus can judge a release here as it would anywhere (see "Request metrics" below).
import http from "node:http";
import { timingSafeEqual } from "node:crypto";
import { WebSocketServer } from "ws";

// The panel may die while we run (that is what adoption is for): writing to its closed pipes must
// not kill us.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST || "127.0.0.1";
const token = process.env.GREENLIGHT_TOKEN ?? "";
const version = process.env.RELEASE_VERSION ?? "0.0.0-dev";
const slot = process.env.SLOT ?? "blue";
const settings = parseSettings(process.env.RELEASE_SETTINGS);
const graceSeconds = positiveNumber(process.env.GREENLIGHT_ORPHAN_GRACE_SECONDS, 300);

const failureRate = Math.min(1, Math.max(0, finite(settings.failureRate, 0)));
const latencyMs = Math.max(0, finite(settings.latencyMs, 0));
const latencyJitterMs = Math.max(0, finite(settings.latencyJitterMs, 0));
const startupDelayMs = Math.max(0, finite(settings.startupDelayMs, 0));
const exitAfterMs = finite(settings.exitAfterMs, 0);
const healthy = settings.healthy !== false;

function parseSettings(raw) {
  if (!raw) return {};
  try {
    const value = JSON.parse(raw);
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    console.error("demo-service: RELEASE_SETTINGS is not valid JSON; using defaults");
    return {};
  }
}
function finite(value, fallback) {
  const n = typeof value === "number" ? value : Number(value);
  return value !== undefined && value !== null && Number.isFinite(n) ? n : fallback;
}
function positiveNumber(value, fallback) {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n : fallback;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function send(res, status, body, contentType = "application/json") {
  const text = contentType === "application/json" ? JSON.stringify(body) : String(body);
  res.writeHead(status, {
    "content-type": `${contentType}; charset=utf-8`,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

function tokenMatches(given) {
  if (!token || typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const CATALOG = [
  { sku: "GL-100", name: "Traffic light", price: 129 },
  { sku: "GL-200", name: "Switch", price: 49 },
  { sku: "GL-300", name: "Signal cable", price: 9 },
];

async function feature(res, path) {
  const delay = latencyMs + (latencyJitterMs ? Math.random() * latencyJitterMs : 0);
  if (delay > 0) await sleep(delay);
  if (failureRate > 0 && Math.random() < failureRate)
    return send(res, 500, { error: "injected failure", version, slot });
  if (path === "/api/v1/version") return send(res, 200, { version, slot });
  if (path === "/api/v1/catalog") return send(res, 200, { version, items: CATALOG });
  return send(res, 200, {
    version,
    orders: [
      { id: 1, status: "shipped" },
      { id: 2, status: "pending" },
    ],
  });
}

// ─── Request metrics ──────────────────────────────────────────────────────────────────────────────
// http_requests_total and the http_request_duration_seconds histogram, by method and status code,
// labelled with the slot and release this process runs (Prometheus's scrape configuration adds the
// service and environment). The panel's probes and Prometheus's scrapes are not the service's traffic:
// they are not counted.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const UNMEASURED = new Set(["/metrics", "/health", "/__greenlight/identity"]);
const served = new Map();

function observe(method, code, seconds) {
  const key = `${method} ${code}`;
  let entry = served.get(key);
  if (!entry) served.set(key, (entry = { method, code, count: 0, sum: 0, buckets: DURATION_BUCKETS.map(() => 0) }));
  entry.count++;
  entry.sum += seconds;
  DURATION_BUCKETS.forEach((bound, i) => {
    if (seconds <= bound) entry.buckets[i]++;
  });
}

const labelValue = (value) => String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (pairs) =>
  `{${Object.entries(pairs)
    .map(([name, value]) => `${name}="${labelValue(value)}"`)
    .join(",")}}`;

function exposition() {
  const lines = [
    "# HELP http_requests_total Requests answered, by method and status code (probes and scrapes not counted).",
    "# TYPE http_requests_total counter",
  ];
  const entries = [...served.values()];
  for (const e of entries)
    lines.push(`http_requests_total${labels({ slot, release: version, method: e.method, code: e.code })} ${e.count}`);
  lines.push(
    "# HELP http_request_duration_seconds Time to answer a request, in seconds.",
    "# TYPE http_request_duration_seconds histogram",
  );
  for (const e of entries) {
    const own = { slot, release: version, method: e.method, code: e.code };
    DURATION_BUCKETS.forEach((bound, i) =>
      lines.push(`http_request_duration_seconds_bucket${labels({ ...own, le: bound })} ${e.buckets[i]}`),
    );
    lines.push(`http_request_duration_seconds_bucket${labels({ ...own, le: "+Inf" })} ${e.count}`);
    lines.push(`http_request_duration_seconds_sum${labels(own)} ${e.sum}`);
    lines.push(`http_request_duration_seconds_count${labels(own)} ${e.count}`);
  }
  return `${lines.join("\n")}\n`;
}

let lastIdentityAt = 0;
let shuttingDown = false;

async function handle(req, res) {
  const queryAt = req.url.indexOf("?");
  const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
  const method = req.method;
  if (method !== "GET" && method !== "HEAD" && !(method === "POST" && path === "/api/auth/signin")) {
    return send(res, 405, { error: "method not allowed" });
  }
  switch (path) {
    case "/health":
      return healthy && !shuttingDown
        ? send(res, 200, { status: "ok", version, slot })
        : send(res, 503, { status: shuttingDown ? "stopping" : "unhealthy", version, slot });
    case "/metrics":
      return send(res, 200, exposition(), "text/plain; version=0.0.4");
    case "/api/v1/health/database":
      return send(res, 200, { status: "healthy" });
    case "/api/auth/signin":
      if (method === "POST") {
        req.resume();
        await new Promise((resolve) => req.on("end", resolve));
        return send(res, 200, { ok: true, user: "demo", version });
      }
      return send(
        res,
        200,
        `<!doctype html><title>Sign in</title><form method="post"><input name="email"><button>Sign in</button></form><!-- ${version} -->`,
        "text/html",
      );
    case "/api/v1/version":
    case "/api/v1/catalog":
    case "/api/v1/orders":
      return feature(res, path);
    case "/slow": {
      const ms = Math.min(60_000, Math.max(0, Number(new URLSearchParams(req.url.slice(queryAt + 1)).get("ms")) || 0));
      await sleep(ms);
      return send(res, 200, { slept: ms, version, slot });
    }
    case "/__greenlight/identity":
      if (!tokenMatches(req.headers["x-greenlight-token"])) return send(res, 403, { error: "forbidden" });
      lastIdentityAt = Date.now();
      return send(res, 200, { token, version, slot, pid: process.pid });
    default:
      return send(res, 404, { error: "not found" });
  }
}

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  const queryAt = req.url.indexOf("?");
  if (!UNMEASURED.has(queryAt === -1 ? req.url : req.url.slice(0, queryAt))) {
    res.on("finish", () => observe(req.method, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
  }
  handle(req, res).catch((error) => {
    console.error(`demo-service: ${error?.stack ?? error}`);
    if (!res.headersSent) send(res, 500, { error: "internal error" });
    else res.destroy();
  });
});
// Longer than the panel proxy's idle keep-alive, so the proxy never reuses a socket we are closing.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  if (req.url !== "/ws" && !req.url.startsWith("/ws?")) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on("error", () => {});
    ws.send(JSON.stringify({ type: "hello", version, slot }));
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});

function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  // In-flight requests finish; idle keep-alive connections close now; never more than ~1 s.
  setTimeout(() => process.exit(code), 1000);
  for (const ws of wss.clients) ws.close(1001, "shutting down");
  server.close(() => process.exit(code));
  server.closeIdleConnections();
}
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));

// Orphan watchdog: when the process that started us is gone, stay only while someone who knows the
// token keeps asking who we are (a restarted panel adopting us). The grace counts from the later of
// the last identity request and the moment we noticed we were orphaned.
const expectedParent = Number(process.env.GREENLIGHT_PARENT_PID) || process.ppid;
let orphanedAt = 0;
const watchdog = setInterval(
  () => {
    if (process.ppid === expectedParent) return;
    const now = Date.now();
    if (!orphanedAt) orphanedAt = now;
    if (now - Math.max(orphanedAt, lastIdentityAt) >= graceSeconds * 1000) {
      console.error(
        `demo-service: parent ${expectedParent} is gone and nobody asked for identity in ${graceSeconds} s; exiting`,
      );
      process.exit(0);
    }
  },
  Math.min(1000, Math.max(100, (graceSeconds * 1000) / 4)),
);
watchdog.unref();

if (exitAfterMs > 0) {
  setTimeout(() => {
    console.error(`demo-service: exiting with code 3 after ${exitAfterMs} ms (exitAfterMs setting)`);
    process.exit(3);
  }, exitAfterMs).unref();
}

setTimeout(() => {
  server.listen(port, host, () => {
    process.stdout.write(`GREENLIGHT_LISTENING ${server.address().port}\n`);
  });
}, startupDelayMs);

server.on("error", (error) => {
  console.error(`demo-service: cannot listen: ${error.message}`);
  process.exit(1);
});
