/**
 * Maintenance windows across daylight-saving changes. America/New_York springs forward on the
 * second Sunday of March (02:00 → 03:00) — the very day of the default window — and falls back on
 * the first Sunday of November (02:00 → 01:00).
 */
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import {
  describeWindow,
  findOverlap,
  nextWindows,
  occurrences,
  stepCutoff,
  windowAt,
  windowRuleInput,
  type WindowRule,
} from "../../server/governance/windows.ts";
import { describeZodError } from "../../server/trpc/init.ts";

const DEFAULT: WindowRule = {
  id: "default",
  name: "Monthly maintenance",
  timezone: "America/New_York",
  rrule: "FREQ=MONTHLY;BYDAY=+2SU",
  startTime: "02:00",
  durationMinutes: 120,
  serviceId: null,
  active: true,
};
const iso = (d: Date) => d.toISOString().replace(".000", "");

describe("the default window (second Sunday, 02:00–04:00 America/New_York)", () => {
  it.each<[string, string, string]>([
    // Winter (EST, UTC−5)
    ["2026-12", "2026-12-13T07:00:00Z", "2026-12-13T09:00:00Z"],
    ["2027-01", "2027-01-10T07:00:00Z", "2027-01-10T09:00:00Z"],
    ["2027-02", "2027-02-14T07:00:00Z", "2027-02-14T09:00:00Z"],
    // 14 March 2027: clocks jump from 02:00 to 03:00. The window starts at the first valid instant
    // (03:00 EDT = 07:00Z) and still ends at 04:00 local (08:00Z): one real hour.
    ["2027-03", "2027-03-14T07:00:00Z", "2027-03-14T08:00:00Z"],
    // Summer (EDT, UTC−4)
    ["2027-04", "2027-04-11T06:00:00Z", "2027-04-11T08:00:00Z"],
    ["2027-10", "2027-10-10T06:00:00Z", "2027-10-10T08:00:00Z"],
    // 7 November 2027 is the first Sunday (fall back); the second Sunday, 14 November, is EST again.
    ["2027-11", "2027-11-14T07:00:00Z", "2027-11-14T09:00:00Z"],
  ])("%s", (month, start, end) => {
    const from = new Date(`${month}-01T00:00:00Z`);
    const to = new Date(from.getTime() + 31 * 86_400_000);
    const found = occurrences(DEFAULT, from, to).filter((w) => iso(w.start).startsWith(month));
    expect(found.map((w) => [iso(w.start), iso(w.end)])).toEqual([
      [start.replace(".000", ""), end.replace(".000", "")],
    ]);
  });

  it("is 02:00 local every month for a year", () => {
    const list = nextWindows([DEFAULT], null, new Date("2026-11-24T00:00:00Z"), 12);
    expect(list).toHaveLength(12);
    for (const w of list) {
      const local = new Intl.DateTimeFormat("en-GB", {
        timeZone: "America/New_York",
        weekday: "short",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      }).format(w.start);
      expect(local === "Sun 02:00" || local === "Sun 03:00").toBe(true);
      expect(w.end.getTime() - w.start.getTime()).toBeLessThanOrEqual(120 * 60_000);
    }
  });
});

describe("a window across the fall-back hour", () => {
  // First Sunday of November 2026 (1 Nov): 01:00–03:00 local spans the repeated hour; the real
  // duration would be three hours, so it is capped at the rule's two.
  const FALLBACK: WindowRule = { ...DEFAULT, id: "fb", rrule: "FREQ=MONTHLY;BYDAY=+1SU", startTime: "01:00" };
  it("starts at the first 01:00 (EDT) and lasts two real hours", () => {
    const [w] = occurrences(FALLBACK, new Date("2026-11-01T00:00:00Z"), new Date("2026-11-02T00:00:00Z"));
    expect(iso(w!.start)).toBe("2026-11-01T05:00:00Z");
    expect(iso(w!.end)).toBe("2026-11-01T07:00:00Z");
  });
});

describe("other zones", () => {
  it.each<[string, WindowRule, string, string]>([
    [
      "London, summer time starts on the last Sunday of March",
      {
        ...DEFAULT,
        id: "ldn",
        timezone: "Europe/London",
        rrule: "FREQ=WEEKLY;BYDAY=SU",
        startTime: "01:30",
        durationMinutes: 60,
      },
      "2027-03-28T01:00:00Z",
      "2027-03-28T01:30:00Z",
    ],
    [
      "Tokyo (no daylight saving, UTC+9; the day before in UTC)",
      {
        ...DEFAULT,
        id: "tyo",
        timezone: "Asia/Tokyo",
        rrule: "FREQ=WEEKLY;BYDAY=MO",
        startTime: "03:00",
        durationMinutes: 90,
      },
      "2027-03-28T18:00:00Z",
      "2027-03-28T19:30:00Z",
    ],
  ])("%s", (_name, rule, start, end) => {
    const found = occurrences(rule, new Date("2027-03-27T00:00:00Z"), new Date("2027-03-29T00:00:00Z"));
    expect(found.map((w) => [iso(w.start), iso(w.end)])).toEqual([[start, end]]);
  });
});

describe("windowAt and the step cut-off", () => {
  it.each<[string, string, boolean]>([
    ["just before", "2026-12-13T06:59:59Z", false],
    ["at the start", "2026-12-13T07:00:00Z", true],
    ["in the middle", "2026-12-13T08:00:00Z", true],
    ["at the end (exclusive)", "2026-12-13T09:00:00Z", false],
  ])("%s", (_name, at, inside) => {
    expect(windowAt([DEFAULT], "svc", new Date(at)) !== null).toBe(inside);
  });

  it("stops new steps 30 minutes before the end", () => {
    const w = windowAt([DEFAULT], null, new Date("2026-12-13T08:00:00Z"))!;
    expect(iso(stepCutoff(w))).toBe("2026-12-13T08:30:00Z");
  });

  it("ignores rules for other services and inactive rules", () => {
    const other = { ...DEFAULT, id: "other", serviceId: "svc-b" };
    expect(windowAt([other], "svc-a", new Date("2026-12-13T08:00:00Z"))).toBeNull();
    expect(windowAt([{ ...DEFAULT, active: false }], "svc-a", new Date("2026-12-13T08:00:00Z"))).toBeNull();
  });
});

describe("rule validation names the field", () => {
  const valid = {
    name: "Nightly",
    timezone: "Europe/Berlin",
    rrule: "FREQ=DAILY",
    startTime: "01:00",
    durationMinutes: 60,
  };
  it.each<[string, Record<string, unknown>, string, string]>([
    [
      "an unknown time zone",
      { timezone: "Mars/Olympus_Mons" },
      "timezone",
      "Time zone: must be an IANA time zone such as America/New_York",
    ],
    [
      "longer than two hours",
      { durationMinutes: 121 },
      "durationMinutes",
      "Duration in minutes: must be at most 120 minutes (no window is longer than 2 hours)",
    ],
    ["a malformed start", { startTime: "25:00" }, "startTime", "Start time: must be a time of day as HH:MM"],
    [
      "a malformed recurrence",
      { rrule: "EVERY SUNDAY" },
      "rrule",
      "Recurrence rule: must be a recurrence rule such as FREQ=MONTHLY;BYDAY=+2SU (without DTSTART)",
    ],
    [
      "a recurrence that has ended",
      { rrule: "FREQ=DAILY;UNTIL=20200101T000000Z" },
      "rrule",
      "Recurrence rule: never occurs in the next two years",
    ],
  ])("%s", (_name, change, path, message) => {
    const result = windowRuleInput.safeParse({ ...valid, ...change });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path.join(".")).toBe(path);
    expect(describeZodError(new ZodError([issue]))).toBe(message);
  });

  it("accepts a valid rule", () => {
    expect(windowRuleInput.parse(valid)).toMatchObject({ rrule: "FREQ=DAILY", serviceId: null });
  });
});

describe("overlaps", () => {
  it("are found between a global rule and a service's rule", () => {
    const weekly = {
      ...DEFAULT,
      id: "weekly",
      serviceId: "svc",
      rrule: "FREQ=WEEKLY;BYDAY=SU",
      startTime: "03:00",
      durationMinutes: 60,
    };
    const overlap = findOverlap(weekly, [DEFAULT], new Date("2026-11-24T00:00:00Z"));
    expect(overlap?.other.id).toBe("default");
    expect(iso(overlap!.at.start)).toBe("2026-12-13T08:00:00Z");
  });

  it("are not found between adjacent windows or different services", () => {
    const after = {
      ...DEFAULT,
      id: "after",
      rrule: "FREQ=MONTHLY;BYDAY=+2SU",
      startTime: "04:00",
      durationMinutes: 60,
    };
    expect(findOverlap(after, [DEFAULT], new Date("2026-11-24T00:00:00Z"))).toBeNull();
    const a = { ...DEFAULT, id: "a", serviceId: "svc-a" };
    expect(findOverlap({ ...DEFAULT, id: "b", serviceId: "svc-b" }, [a], new Date("2026-11-24T00:00:00Z"))).toBeNull();
  });
});

describe("describeWindow", () => {
  it("names the window in the reader's time zone", () => {
    const w = { start: new Date("2026-12-13T07:00:00Z"), end: new Date("2026-12-13T09:00:00Z") };
    expect(describeWindow(w, "America/New_York")).toBe("Sunday, 13 December 2026, 02:00–04:00 EST (America/New_York)");
    expect(describeWindow(w, "Europe/Berlin")).toBe("Sunday, 13 December 2026, 08:00–10:00 GMT+1 (Europe/Berlin)");
  });
});
