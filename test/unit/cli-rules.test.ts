/** The greenlight CLI's rules: durations, exit statuses and how it prints what the panel explains. */
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../cli/duration.ts";
import { EXIT, exitCodeForStartRefusal, exitCodeForVerdict } from "../../cli/exit-codes.ts";
import { describeFields } from "../../cli/report.ts";

describe("parseDuration", () => {
  it.each<[string, number | null]>([
    ["30m", 1_800_000],
    ["90s", 90_000],
    ["1h", 3_600_000],
    ["500ms", 500],
    ["1.5m", 90_000],
    [" 2s ", 2000],
    ["0s", null],
    ["30", null],
    ["soon", null],
    ["-5m", null],
  ])("%j → %j", (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe("formatDuration", () => {
  it.each<[number, string]>([
    [400, "0s"],
    [42_000, "42s"],
    [75_000, "1m 15s"],
    [3_900_000, "1h 5m"],
  ])("%d ms → %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe("exit statuses", () => {
  it.each<[string, number]>([
    ["succeeded", EXIT.ok],
    ["rolled_back", EXIT.rolledBack],
    ["failed", EXIT.rolledBack],
    ["aborted", EXIT.error],
    ["in_progress", EXIT.error],
  ])("a deployment that ended %s exits %d", (verdict, code) => expect(exitCodeForVerdict(verdict)).toBe(code));

  it.each<[number, number]>([
    [412, EXIT.refused],
    [409, EXIT.error],
    [403, EXIT.error],
    [400, EXIT.error],
  ])("a start refused with HTTP %d exits %d", (status, code) => expect(exitCodeForStartRefusal(status)).toBe(code));
});

describe("describeFields", () => {
  it("prints every field, whatever the engine adds, nested objects and lists indented under their name", () => {
    const reason = {
      kind: "gate",
      gate: "error_rate_vs_live",
      observed: 22.22222,
      threshold: 0.1,
      weight: 10,
      detail: "green 22.2% vs live 0%",
      explanation: { test: "Mann-Whitney U", pValue: 0.000412345, samples: [12, 14] },
      hint: null,
    };
    expect(describeFields(reason)).toEqual([
      "  reason: gate",
      "  gate: error_rate_vs_live",
      "  observed: 22.222",
      "  threshold: 0.1",
      "  traffic %: 10",
      "  detail: green 22.2% vs live 0%",
      "  explanation:",
      "    test: Mann-Whitney U",
      "    pValue: 0.00041234",
      "    samples: 12, 14",
    ]);
  });
});
