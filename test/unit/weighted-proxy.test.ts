import { describe, expect, it } from "vitest";
import { chooseSlot, slotFromCookie, validateWeights } from "../../server/targets/local/weighted-proxy.ts";

describe("slotFromCookie", () => {
  it.each([
    [undefined, null],
    ["", null],
    ["gl_slot=blue", "blue"],
    ["gl_slot=green", "green"],
    ["theme=dark; gl_slot=green; lang=en", "green"],
    ["theme=dark;gl_slot=blue", "blue"],
    ["gl_slot=purple", null],
    ["xgl_slot=blue", null],
    ["gl_slot=bluey", null],
  ])("%j → %s", (header, expected) => expect(slotFromCookie(header)).toBe(expected));
});

describe("chooseSlot", () => {
  it.each([
    ["no cookie, 100/0", { blue: 100, green: 0 }, null, 0.999, "blue"],
    ["no cookie, 0/100", { blue: 0, green: 100 }, null, 0, "green"],
    ["no cookie, 30/70, draw below 30", { blue: 30, green: 70 }, null, 0.2999, "blue"],
    ["no cookie, 30/70, draw at 30", { blue: 30, green: 70 }, null, 0.3, "green"],
    ["cookie honoured while its slot has weight", { blue: 1, green: 99 }, "blue", 0.99, "blue"],
    ["cookie ignored when its slot has no weight", { blue: 0, green: 100 }, "blue", 0, "green"],
  ] as const)("%s", (_name, weights, sticky, random, expected) =>
    expect(chooseSlot(weights, sticky, random)).toBe(expected),
  );
});

describe("validateWeights", () => {
  it.each([
    [{ blue: 100, green: 0 }, true],
    [{ blue: 37, green: 63 }, true],
    [{ blue: 50, green: 49 }, false],
    [{ blue: 50.5, green: 49.5 }, false],
    [{ blue: -10, green: 110 }, false],
    [{ blue: Number.NaN, green: 100 }, false],
  ])("%j valid: %s", (weights, valid) => {
    if (valid) expect(() => validateWeights(weights)).not.toThrow();
    else expect(() => validateWeights(weights)).toThrow(RangeError);
  });
});
