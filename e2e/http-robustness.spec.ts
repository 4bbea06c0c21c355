/**
 * Issue 10, High 2, with the UI on: every malformed request gets an answer with the security headers
 * (none reaches Next.js), and the panel still serves /health afterwards.
 */
import { MALFORMED_REQUESTS, sendRaw } from "../test/helpers/malformed-requests";
import { expect, test } from "./fixtures";
import { readPanelInfo } from "./panel-info";

test("malformed request lines, targets and headers are answered, and the panel keeps serving", async () => {
  const { url } = readPanelInfo();
  const { hostname, port } = new URL(url);
  const host = hostname === "localhost" ? "127.0.0.1" : hostname;
  for (const c of MALFORMED_REQUESTS) {
    const answer = await sendRaw(host, Number(port), c.raw);
    expect(c.expect, `${c.name}: ${answer.text.slice(0, 200)}`).toContain(answer.status);
    expect(answer.headers["x-frame-options"], c.name).toBe("DENY");
    expect(answer.headers["content-security-policy"], c.name).toMatch(/frame-ancestors 'none'/);
  }
  expect((await fetch(`${url}/health`)).status).toBe(200);
});
