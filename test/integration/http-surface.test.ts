import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEALTH_CHECKS } from "../../server/telemetry/health.ts";
import { postCredentials, sameOrigin, startTestPanel, type TestPanel, type TestUser } from "../helpers/panel.ts";
import { trpcMutation } from "../helpers/trpc.ts";
import { waitFor } from "../helpers/wait.ts";

const SECURITY_HEADERS = {
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
};

function expectSecurityHeaders(response: Response) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(response.headers.get(name), name).toBe(value);
  const csp = response.headers.get("content-security-policy") ?? "";
  expect(csp).toMatch(/(^|; )default-src 'self'(;|$)/);
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
  // No third-party origin anywhere in the policy.
  expect(csp).not.toMatch(/https?:\/\//);
}

/** pino-roll writes LOG_FILE=dir/panel.log as dir/panel.<date>.<n>.log. */
function rotatedLogFile(): string | undefined {
  const dir = path.dirname(logFile);
  const name = fs.readdirSync(dir).find((f) => /^panel\.\d{4}-\d{2}-\d{2}\.\d+\.log$/.test(f));
  return name ? path.join(dir, name) : undefined;
}

let t: TestPanel;
let admin: TestUser;
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-log-")), "panel.log");
beforeAll(async () => {
  t = await startTestPanel({ LOG_FILE: logFile });
  admin = await t.createUser(["admin"], "Ada Admin");
});
afterAll(() => t?.close());

describe("GET /health", () => {
  it("reports every check in the usual shape, with unconfigured Redis skipped", async () => {
    const response = await fetch(`${t.url}/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown> & { checks: Record<string, string> };
    expect(Object.keys(body).sort()).toEqual(["checks", "status", "timestamp", "version"]);
    expect(body.status).toBe("healthy");
    expect(new Date(body.timestamp as string).toString()).not.toBe("Invalid Date");
    expect(Object.keys(body.checks).sort()).toEqual([...HEALTH_CHECKS].sort());
    expect(body.checks).toMatchObject({
      database: "healthy",
      redis: "skipped",
      websocket: "healthy",
      externalAPIs: "skipped",
      diskSpace: "healthy",
      memory: "healthy",
    });
    expectSecurityHeaders(response);
  });

  it("answers 503 with the failing check named when a check is unhealthy", async () => {
    const strict = await startTestPanel({ HEALTH_MIN_FREE_DISK_MB: "999999999" });
    try {
      const response = await fetch(`${strict.url}/health`);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { status: string; issues: { check: string; status: string }[] };
      expect(body.status).toBe("unhealthy");
      expect(body.issues).toEqual([
        { check: "diskSpace", status: expect.stringMatching(/MB free .* \(minimum 999999999 MB\)/) },
      ]);
      expectSecurityHeaders(response);
    } finally {
      await strict.close();
    }
  });
});

describe("GET /metrics", () => {
  it("serves Prometheus text with HTTP durations by route, open sockets and process metrics", async () => {
    await fetch(`${t.url}/health`);
    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/health"[^}]*\}/);
    expect(text).toMatch(/^greenlight_websocket_connections \d+/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expectSecurityHeaders(response);
  });

  it("with METRICS_TOKEN, answers only a scraper bearing that token (401 naming what to send otherwise)", async () => {
    const token = "metrics-token-0123456789abcdef";
    const guarded = await startTestPanel({ METRICS_TOKEN: token });
    try {
      for (const authorization of [
        undefined,
        "Bearer wrong-token-0123456789abcdef",
        `Basic ${token}`,
        `Bearer ${token}x`,
      ]) {
        const refused = await fetch(`${guarded.url}/metrics`, {
          headers: authorization ? { Authorization: authorization } : {},
        });
        expect(refused.status, authorization).toBe(401);
        expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="greenlight-metrics"');
        expect(await refused.json()).toEqual({
          error: "/metrics needs the metrics token: send Authorization: Bearer <METRICS_TOKEN>",
        });
        expectSecurityHeaders(refused);
      }
      const scraped = await fetch(`${guarded.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toMatch(/^greenlight_websocket_connections \d+/m);
    } finally {
      await guarded.close();
    }
  });
});

describe("security headers", () => {
  it("are on API answers too: tRPC (401), auth and unknown API routes", async () => {
    for (const url of [
      `${t.url}/api/trpc/me.get`,
      `${t.url}/api/auth/csrf`,
      `${t.url}/api/v1/nothing-here`,
      `${t.url}/api/v1/health/database`,
    ]) {
      expectSecurityHeaders(await fetch(url));
    }
  });
});

describe("trace ids and logs", () => {
  it("takes the trace id from traceparent, echoes it, and stamps it on the request's audit events and log lines", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await postCredentials(t.url, admin.email, "not-the-password-xyz", {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(response.headers.get("x-request-id")).toBe(traceId);
    const event = await t.prisma.auditEvent.findFirst({ where: { action: "auth.signin_failed", traceId } });
    expect(event).not.toBeNull();
    const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.traceId === traceId);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines)
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining(["timestamp", "level", "service", "traceId", "message"]),
      );
  });

  it("uses x-request-id when there is no traceparent", async () => {
    const response = await fetch(`${t.url}/health`, { headers: { "x-request-id": "req-1234567890" } });
    expect(response.headers.get("x-request-id")).toBe("req-1234567890");
  });

  it("never writes passwords, session tokens, cookies or the signing secret to the logs", async () => {
    const password = "Sup3r-Secret-Pa55word!";
    await postCredentials(t.url, admin.email, password);
    const user = await t.createUser(["viewer"]);
    await trpcMutation(
      t.url,
      "me.changePassword",
      { currentPassword: user.password, newPassword: `${password}-new` },
      user.cookie,
    );
    await fetch(`${t.url}/api/trpc/me.get`, {
      headers: { Cookie: user.cookie, Authorization: "Bearer abc.def.ghi", "x-request-id": "secrets-check-last" },
    });
    const written = await waitFor(() => {
      const file = rotatedLogFile();
      return file && fs.readFileSync(file, "utf8").includes("secrets-check-last") ? file : undefined;
    }, "the last request to reach the log file");
    const everything = [...t.logs, fs.readFileSync(written, "utf8")].join("\n");
    const token = user.cookie.split("=")[1]!;
    for (const secret of [
      password,
      user.password,
      token,
      admin.cookie.split("=")[1]!,
      t.panel.services.auth.secret,
      "abc.def.ghi",
    ]) {
      expect(everything.includes(secret), `a secret appeared in the logs: ${secret.slice(0, 6)}…`).toBe(false);
    }
  });

  it("writes LOG_FILE as daily-rotated JSON lines, named by date", async () => {
    const file = await waitFor(rotatedLogFile, "a log file");
    const today = new Date().toISOString().slice(0, 10);
    expect(path.basename(file)).toMatch(new RegExp(`^panel\\.(${today}|\\d{4}-\\d{2}-\\d{2})\\.\\d+\\.log$`));
    const first = fs.readFileSync(file, "utf8").split("\n").find(Boolean)!;
    expect(JSON.parse(first)).toMatchObject({
      service: "greenlight",
      level: expect.any(String),
      timestamp: expect.any(String),
    });
  });
});

describe("cross-site writes", () => {
  it("refuses a tRPC mutation whose Origin is another site", async () => {
    const response = await fetch(`${t.url}/api/trpc/users.create`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: admin.cookie, Origin: "https://evil.example" },
      body: JSON.stringify({ json: { email: "x@example.test", name: "X", roles: ["viewer"] } }),
    });
    expect(response.status).toBe(403);
    expect(await t.prisma.user.count({ where: { email: "x@example.test" } })).toBe(0);
  });

  function createWith(headers: Record<string, string>, email: string) {
    return fetch(`${t.url}/api/trpc/users.create`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: admin.cookie, ...headers },
      body: JSON.stringify({ json: { email, name: "X", roles: ["viewer"] } }),
    });
  }

  it("refuses a cookie-authenticated mutation with no Origin (and no Sec-Fetch-Site), naming why", async () => {
    const response = await createWith({}, "no-origin@example.test");
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /^Cross-site request refused: the request has no Origin header/,
    );
    expect(await t.prisma.user.count({ where: { email: "no-origin@example.test" } })).toBe(0);
  });

  it("ignores X-Forwarded-Host without TRUST_PROXY: an Origin naming it is still another site", async () => {
    const response = await createWith(
      { Origin: "https://evil.example", "X-Forwarded-Host": "evil.example" },
      "forwarded@example.test",
    );
    expect(response.status).toBe(403);
    expect(await t.prisma.user.count({ where: { email: "forwarded@example.test" } })).toBe(0);
  });

  it("accepts the panel's own pages: an Origin naming the panel, or Sec-Fetch-Site: same-origin", async () => {
    expect((await createWith(sameOrigin(t.url), "own-origin@example.test")).status).toBe(200);
    expect((await createWith({ "Sec-Fetch-Site": "same-origin" }, "fetch-site@example.test")).status).toBe(200);
  });
});

describe("Socket.io", () => {
  it("refuses connections without a session", async () => {
    const socket = io(t.url, { transports: ["websocket"], reconnection: false, extraHeaders: sameOrigin(t.url) });
    const error = await new Promise<Error>((resolve) => socket.on("connect_error", resolve));
    expect(error.message).toMatch(/unauthorized/);
    socket.close();
  });

  it("connects signed-in users and pushes events to their role's room", async () => {
    const socket = io(t.url, {
      transports: ["websocket"],
      reconnection: false,
      extraHeaders: { Cookie: admin.cookie, ...sameOrigin(t.url) },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on("connect", resolve);
        socket.on("connect_error", reject);
      });
      const received = new Promise<unknown>((resolve) => socket.on("users:changed", resolve));
      const created = await trpcMutation(
        t.url,
        "users.create",
        { email: "new-person@example.test", name: "New Person", roles: ["viewer"] },
        admin.cookie,
      );
      expect(created.status).toBe(200);
      expect(await received).toMatchObject({ at: expect.any(String) });
    } finally {
      socket.close();
    }
  });
});

describe("GET /api/v1/health/database", () => {
  it("answers 200 while the database answers, and 503 once it does not", async () => {
    expect((await fetch(`${t.url}/api/v1/health/database`)).status).toBe(200);
    const broken = await startTestPanel();
    try {
      await broken.panel.services.db.close();
      const response = await fetch(`${broken.url}/api/v1/health/database`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: "unhealthy" });
      const health = await fetch(`${broken.url}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { issues: { check: string }[] }).issues.map((i) => i.check)).toContain(
        "database",
      );
    } finally {
      await broken.close().catch(() => {});
    }
  });
});
