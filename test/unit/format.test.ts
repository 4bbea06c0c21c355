/** The one formatting module: every figure the pages show is rounded where it is formatted. */
import { describe, expect, it } from "vitest";
import {
  formatCount,
  formatDate,
  formatDateTime,
  formatDuration,
  formatMs,
  formatNumber,
  formatPercent,
  formatPp,
  formatRate,
  formatRps,
  formatTime,
} from "../../lib/format.ts";

describe("formatting", () => {
  it("rounds the figures the issue found unrounded", () => {
    expect(formatNumber(142.3075860000099)).toBe("142");
    expect(formatNumber(5.88645499991253)).toBe("5.89");
    expect(formatDuration(142.3075860000099)).toBe("2 min 22 s");
    expect(formatDuration(5.88645499991253)).toBe("5.9 s");
  });
  it("formats percentages with digits by size", () => {
    expect(formatPercent(100)).toBe("100 %");
    expect(formatPercent(3.14159)).toBe("3.1 %");
    expect(formatPercent(0.5432)).toBe("0.54 %");
    expect(formatPercent(0.04213)).toBe("0.042 %");
    expect(formatPercent(0)).toBe("0 %");
    expect(formatRate(0.031)).toBe("3.1 %");
    expect(formatPp(0.12345)).toBe("0.123 pp");
  });
  it("formats latencies, rates, counts and durations", () => {
    expect(formatMs(4.26)).toBe("4.3 ms");
    expect(formatMs(1250.4)).toBe("1,250 ms");
    expect(formatRps(12.345)).toBe("12.3/s");
    expect(formatCount(1234.4)).toBe("1,234");
    expect(formatDuration(7300)).toBe("2 h 1 min");
    expect(formatDuration(60)).toBe("1 min");
  });
  it("shows a dash for what is missing", () => {
    expect(formatPercent(null)).toBe("—");
    expect(formatMs(undefined)).toBe("—");
    expect(formatDuration(Number.NaN)).toBe("—");
    expect(formatTime(null)).toBe("—");
    expect(formatDate(undefined)).toBe("—");
    expect(formatDateTime("not a date")).toBe("—");
  });
  it("writes dates and times one way on every page, to the second and on a 24-hour clock", () => {
    // Built from local parts: the viewer's zone is whatever the machine's is.
    const at = new Date(2026, 11, 1, 14, 5, 9);
    expect(formatDateTime(at)).toBe("12/1/2026, 14:05:09");
    expect(formatDateTime(at.toISOString())).toBe("12/1/2026, 14:05:09");
    expect(formatTime(at.getTime())).toBe("14:05:09");
    expect(formatDate(at)).toBe("12/1/2026");
    // Five past midnight is 00:05, not 24:05 (as `hour12: false` wrote it).
    const midnight = new Date(2026, 11, 1, 0, 5, 9);
    expect(formatDateTime(midnight)).toBe("12/1/2026, 00:05:09");
    expect(formatTime(midnight)).toBe("00:05:09");
  });
});
