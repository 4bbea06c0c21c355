/**
 * Issue 10, High 2: no request may stop the panel or go unanswered. Each malformed request goes over a
 * raw socket, gets an answer with the security headers, and the panel still serves /health after all
 * of them. (The same list runs against the panel with its UI in e2e/http-robustness.spec.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRequestTarget } from "../../server/http/request-target.ts";
import { MALFORMED_REQUESTS, sendRaw } from "../helpers/malformed-requests.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";

let t: TestPanel;
beforeAll(async () => {
  t = await startTestPanel();
});
afterAll(() => t?.close());

describe("a malformed request (API-only panel, SERVE_UI=false)", () => {
  it.each(MALFORMED_REQUESTS)("$name: answered, with the security headers", async ({ raw, expect: statuses }) => {
    const answer = await sendRaw("127.0.0.1", t.panel.port, raw);
    expect(statuses, answer.text.slice(0, 300)).toContain(answer.status);
    expect(answer.headers["x-frame-options"]).toBe("DENY");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    expect(answer.headers["strict-transport-security"]).toMatch(/max-age=/);
    expect(answer.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
    expect(JSON.parse(answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4)).error).toMatch(
      /^Bad Request|^Request Header Fields Too Large/i,
    );
  });

  it("leaves the panel serving: /health answers after all of them", async () => {
    for (const { raw } of MALFORMED_REQUESTS) await sendRaw("127.0.0.1", t.panel.port, raw);
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
  });
});

describe("parseRequestTarget", () => {
  it.each([
    ["/", true],
    ["/deployments/abc?tab=gates", true],
    ["/api/trpc/me.get,users.list?batch=1", true],
    ["/caf%C3%A9", true],
    ["/a//b", true],
    ["/search?q=%E0%A4%A", true],
    ["", false],
    ["//", false],
    ["//evil.example/x", false],
    ["/\\evil.example", false],
    ["/a\\b", false],
    ["/%E0%A4%A", false],
    ["/%zz", false],
    ["http://evil.example/", false],
    ["*", false],
  ])("%s → %s", (target, ok) => {
    expect(parseRequestTarget(target).ok).toBe(ok);
  });
});
