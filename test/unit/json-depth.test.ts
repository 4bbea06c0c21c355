import { describe, expect, it } from "vitest";
import { nestsDeeperThan } from "../../server/http/json-depth.ts";

describe("nestsDeeperThan (scanning, not parsing)", () => {
  it.each([
    ["a flat value", "1", 0, false],
    ["an empty object at depth 1", "{}", 1, false],
    ["one level past the limit", "[[]]", 1, true],
    ["objects and arrays count alike", '{"a":[{"b":1}]}', 2, true],
    ["siblings do not add up", "[[],[],[],[]]", 2, false],
    ["brackets inside strings do not count", '["[[[[{{{{"]', 1, false],
    ["an escaped quote does not end the string", '["\\"[[[["]', 1, false],
    ["an escaped backslash does end it", '["\\\\",[[]]]', 2, true],
    ["20,000 levels, without recursion", "[".repeat(20_000) + "]".repeat(20_000), 64, true],
  ])("%s", (_name, text, max, deeper) => {
    expect(nestsDeeperThan(text, max)).toBe(deeper);
  });
});
