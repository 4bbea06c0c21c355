import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../../server/auth/passwords.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";

describe("BCRYPT_COST", () => {
  it.each([
    [undefined, 10],
    ["4", 4],
    ["12", 12],
    ["15", 15],
  ])("%s gives a cost of %i", (value, cost) => {
    const config = parseConfig(value === undefined ? { NODE_ENV: "test" } : { NODE_ENV: "test", BCRYPT_COST: value });
    expect(config.auth.bcryptCost).toBe(cost);
  });

  it.each([
    ["3", 'must be between 4 and 15 (got "3")'],
    ["16", 'must be between 4 and 15 (got "16")'],
    ["ten", 'must be a whole number (got "ten")'],
    ["4.5", 'must be a whole number (got "4.5")'],
  ])("refuses %s, naming the variable", (value, message) => {
    expect(() => parseConfig({ NODE_ENV: "test", BCRYPT_COST: value })).toThrowError(
      new ConfigError("BCRYPT_COST", message),
    );
  });
});

describe("password hashes", () => {
  it.each([4, 5])("are made at the cost given (%i), which verifying reads back from the hash", async (cost) => {
    const hash = await hashPassword("correct horse battery staple", cost);
    expect(hash).toMatch(new RegExp(`^\\$2[aby]\\$0${cost}\\$`));
    expect(await verifyPassword("correct horse battery staple", hash)).toBe(true);
    expect(await verifyPassword("correct horse battery stapler", hash)).toBe(false);
  });
});
