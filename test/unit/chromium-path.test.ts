/** Which browser the browser tier and the benchmarks drive (server/config.ts, chromiumPath). */
import { describe, expect, it } from "vitest";
import { chromiumPath } from "../../server/config.ts";

const SHELL = "/usr/bin/chromium-headless-shell";
const FULL = "/usr/bin/chromium";

describe("chromiumPath", () => {
  it.for<[string, string | undefined, string[], string]>([
    ["CHROMIUM_PATH wins over what is installed", "/opt/chrome/chrome", [SHELL, FULL], "/opt/chrome/chrome"],
    ["the headless shell when both are installed", undefined, [SHELL, FULL], SHELL],
    ["the headless shell alone", undefined, [SHELL], SHELL],
    ["the full browser when the shell is not installed", undefined, [FULL], FULL],
    ["the full browser's path, to name in the error, when neither is", undefined, [], FULL],
    ["an empty CHROMIUM_PATH counts as unset", "", [FULL], FULL],
  ])("%s", ([, setting, installed, expected]) => {
    expect(chromiumPath(setting, (file) => installed.includes(file))).toBe(expected);
  });
});
