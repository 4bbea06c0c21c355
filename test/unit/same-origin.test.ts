import { describe, expect, it } from "vitest";
import { checkSameOrigin, type OriginPolicy } from "../../server/http/same-origin.ts";

const direct: OriginPolicy = { trustProxy: false, publicOrigin: null };
const configured: OriginPolicy = { trustProxy: false, publicOrigin: "https://greenlight.example" };
const proxied: OriginPolicy = { trustProxy: true, publicOrigin: null };

describe("checkSameOrigin (may a request act on the session cookie it carries?)", () => {
  it.each<[string, Record<string, string>, OriginPolicy, boolean]>([
    [
      "Origin equal to the host the request was sent to",
      { host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000" },
      direct,
      true,
    ],
    [
      "host names compare without regard to case",
      { host: "Panel.Internal:3000", origin: "http://panel.internal:3000" },
      direct,
      true,
    ],
    ["another site", { host: "127.0.0.1:3000", origin: "https://evil.example" }, direct, false],
    ["the same host on another port", { host: "127.0.0.1:3000", origin: "http://127.0.0.1:3001" }, direct, false],
    ["no Origin and no Sec-Fetch-Site", { host: "127.0.0.1:3000" }, direct, false],
    [
      "no Origin, Sec-Fetch-Site: same-origin (a browser's same-origin GET)",
      { host: "127.0.0.1:3000", "sec-fetch-site": "same-origin" },
      direct,
      true,
    ],
    ["no Origin, Sec-Fetch-Site: same-site", { host: "127.0.0.1:3000", "sec-fetch-site": "same-site" }, direct, false],
    [
      "no Origin, Sec-Fetch-Site: cross-site",
      { host: "127.0.0.1:3000", "sec-fetch-site": "cross-site" },
      direct,
      false,
    ],
    ["Origin: null (sandboxed frames, data: URLs)", { host: "127.0.0.1:3000", origin: "null" }, direct, false],
    ["an Origin that is not http(s)", { host: "127.0.0.1:3000", origin: "file://127.0.0.1:3000" }, direct, false],
    [
      "a cross-site Origin is not saved by Sec-Fetch-Site",
      { host: "127.0.0.1:3000", origin: "https://evil.example", "sec-fetch-site": "same-origin" },
      direct,
      false,
    ],
    [
      "X-Forwarded-Host without TRUST_PROXY is ignored",
      { host: "127.0.0.1:3000", origin: "https://evil.example", "x-forwarded-host": "evil.example" },
      direct,
      false,
    ],
    [
      "X-Forwarded-Host with TRUST_PROXY names the panel",
      { host: "10.0.0.5:3000", origin: "https://greenlight.example", "x-forwarded-host": "greenlight.example" },
      proxied,
      true,
    ],
    [
      "with TRUST_PROXY, the first forwarded host counts",
      { host: "10.0.0.5:3000", origin: "https://evil.example", "x-forwarded-host": "greenlight.example, evil.example" },
      proxied,
      false,
    ],
    [
      "the configured public URL behind a proxy that rewrites Host",
      { host: "10.0.0.5:3000", origin: "https://greenlight.example" },
      configured,
      true,
    ],
    [
      "the public URL's host with another scheme is not the public URL",
      { host: "10.0.0.5:3000", origin: "http://greenlight.example" },
      configured,
      false,
    ],
  ])("%s", (_name, headers, policy, ok) => {
    expect(checkSameOrigin(headers, policy).ok).toBe(ok);
  });

  it("says why it refuses", () => {
    expect(checkSameOrigin({ host: "a:1" }, direct)).toEqual({
      ok: false,
      reason: expect.stringContaining("no Origin header"),
    });
    expect(checkSameOrigin({ host: "a:1", origin: "https://evil.example" }, direct)).toEqual({
      ok: false,
      reason: "the Origin https://evil.example is another site",
    });
  });
});
