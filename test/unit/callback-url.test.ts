import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "../../server/auth/callback-url.ts";

describe("safeCallbackPath (where sign-in sends the browser)", () => {
  it.each([
    // Paths of the panel are kept, query and fragment included.
    ["/deployments", "/deployments"],
    ["/deployments/42?tab=timeline#gates", "/deployments/42?tab=timeline#gates"],
    ["/audit?text=%2F%5C", "/audit?text=%2F%5C"],
    // Same scheme and no slashes: a browser reads it as a path of the page's own origin.
    ["http:evil.example", "/evil.example"],
    // Nothing, or nonsense: the overview.
    [undefined, "/"],
    [null, "/"],
    ["", "/"],
    ["http://[::1", "/"],
    // Other origins, however they are spelled (the browser reads each one as another host).
    ["//evil.example/phish", "/"],
    ["/\\evil.example/phish", "/"],
    ["/\t/evil.example", "/"],
    ["/\n/evil.example", "/"],
    ["/\\/evil.example", "/"],
    ["\\\\evil.example", "/"],
    [" //evil.example", "/"],
    ["https://evil.example/", "/"],
    ["javascript:alert(1)", "/"],
    ["data:text/html,<script>alert(1)</script>", "/"],
    // A path that only normalises to `//host` still leaves the origin.
    ["/.//evil.example", "/"],
    ["/x/..//evil.example", "/"],
  ])("%j → %j", (value, expected) => {
    expect(safeCallbackPath(value)).toBe(expected);
  });

  it("accepts an absolute URL on the panel's own origin, given that origin, and no other", () => {
    expect(safeCallbackPath("https://greenlight.example/audit?x=1", "https://greenlight.example")).toBe("/audit?x=1");
    expect(safeCallbackPath("https://greenlight.example.evil.example/", "https://greenlight.example")).toBe("/");
    expect(safeCallbackPath("http://greenlight.example/audit", "https://greenlight.example")).toBe("/");
    expect(safeCallbackPath("/\\evil.example", "https://greenlight.example")).toBe("/");
  });

  it("returns only paths that a browser resolves on the panel's own origin", () => {
    for (const value of ["/a", "/\\b", "/\t/c", "/.//d", "//e", "/%2F%2Fevil.example"]) {
      const path = safeCallbackPath(value);
      expect(new URL(path, "https://greenlight.example").origin).toBe("https://greenlight.example");
    }
  });
});
