import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, type Config } from "../../server/config.ts";

// The whole-number settings share one parser (config.ts, wholeNumber): their defaults, what they take
// and the words they refuse with. BCRYPT_COST, the bounded one, has its own table (bcrypt-cost.test.ts).
const SETTINGS: [string, (config: Config) => number, number][] = [
  ["SIGNIN_MAX_FAILURES", (c) => c.auth.signInThrottle.maxFailures, 5],
  ["SIGNIN_MAX_FAILURES_PER_ADDRESS", (c) => c.auth.signInThrottle.maxFailuresPerAddress, 100],
  ["AUDIT_CHECKPOINT_EVENTS", (c) => c.auditCheckpoints.everyEvents, 100],
];

describe.each(SETTINGS)("%s", (variable, read, fallback) => {
  it(`defaults to ${fallback} and takes 1 and 250`, () => {
    expect(read(parseConfig({ NODE_ENV: "test" }))).toBe(fallback);
    expect(read(parseConfig({ NODE_ENV: "test", [variable]: "1" }))).toBe(1);
    expect(read(parseConfig({ NODE_ENV: "test", [variable]: "250" }))).toBe(250);
  });

  it.each([
    ["0", 'must be at least 1 (got "0")'],
    ["-3", 'must be a whole number (got "-3")'],
    ["many", 'must be a whole number (got "many")'],
  ])("refuses %s, naming the variable", (value, message) => {
    expect(() => parseConfig({ NODE_ENV: "test", [variable]: value })).toThrowError(new ConfigError(variable, message));
  });
});
