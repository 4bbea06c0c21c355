/**
 * Maintenance windows, pure. A rule is a recurrence (RFC 5545 RRULE) of local calendar days, a
 * wall-clock start time and a duration, in an IANA time zone. Occurrences are computed in that
 * zone's wall time and converted with the zone's rules, so they stay at 02:00 local across
 * daylight-saving changes. On a spring-forward day a start inside the skipped hour moves to the
 * first valid instant (02:00 → 03:00) and the window still ends at its wall-clock end (04:00); on a
 * fall-back day the real duration is capped at the rule's duration. No window is ever longer than
 * its rule's duration, and no rule may be longer than two hours.
 */
import { Temporal } from "@js-temporal/polyfill";
import { RRule } from "rrule";
import { z } from "zod";

export const MAX_WINDOW_MINUTES = 120;
/** No new traffic step starts this close to a window's end, so a rollback always fits inside it. */
export const STEP_CUTOFF_MINUTES = 30;

export interface WindowRule {
  id: string;
  name: string;
  timezone: string;
  rrule: string;
  startTime: string;
  durationMinutes: number;
  serviceId: string | null;
  active: boolean;
}

export interface WindowOccurrence {
  ruleId: string;
  name: string;
  timezone: string;
  start: Date;
  end: Date;
}

export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

const RRULE_MESSAGE = "must be a recurrence rule such as FREQ=MONTHLY;BYDAY=+2SU (without DTSTART)";

export const windowRuleInput = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(80, "must be at most 80 characters"),
    timezone: z.string().trim().refine(isKnownTimeZone, "must be an IANA time zone such as America/New_York"),
    rrule: z
      .string()
      .trim()
      .transform((value) => value.replace(/^RRULE:/i, ""))
      .refine((value) => {
        try {
          const options = RRule.parseString(value);
          return options.freq !== undefined && !/DTSTART/i.test(value);
        } catch {
          return false;
        }
      }, RRULE_MESSAGE),
    startTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day as HH:MM"),
    durationMinutes: z
      .number()
      .int("must be whole minutes")
      .min(15, "must be at least 15 minutes")
      .max(MAX_WINDOW_MINUTES, `must be at most ${MAX_WINDOW_MINUTES} minutes (no window is longer than 2 hours)`),
    serviceId: z.string().uuid("must be a service id").nullable().default(null),
  })
  .superRefine((rule, ctx) => {
    let parses = true;
    try {
      // rrule accepts FREQ=SOMETIMES (no frequency) and throws "Invalid frequency: undefined undefined" later.
      parses = RRule.parseString(rule.rrule).freq !== undefined;
    } catch {
      parses = false;
    }
    if (!parses || !isKnownTimeZone(rule.timezone)) return;
    let upcoming: number;
    try {
      upcoming = occurrences(
        { ...rule, id: "new", active: true },
        new Date(),
        new Date(Date.now() + 730 * 86_400_000),
      ).length;
    } catch {
      ctx.addIssue({ code: "custom", path: ["rrule"], message: RRULE_MESSAGE });
      return;
    }
    if (upcoming === 0)
      ctx.addIssue({ code: "custom", path: ["rrule"], message: "never occurs in the next two years" });
  });

/** Occurrences of a rule that overlap [from, to). */
export function occurrences(rule: WindowRule, from: Date, to: Date): WindowOccurrence[] {
  const [hour, minute] = rule.startTime.split(":").map(Number) as [number, number];
  // Calendar days are generated "floating" (as UTC dates standing for local days), a few days on
  // either side of the range so zones far from UTC are covered.
  const local = (date: Date) =>
    Temporal.Instant.fromEpochMilliseconds(date.getTime()).toZonedDateTimeISO(rule.timezone).toPlainDate();
  const first = local(from).subtract({ days: 2 });
  const last = local(to).add({ days: 2 });
  const dtstart = new Date(Date.UTC(first.year, first.month - 1, first.day));
  const until = new Date(Date.UTC(last.year, last.month - 1, last.day, 23, 59, 59));
  const recurrence = new RRule({ ...RRule.parseString(rule.rrule), dtstart });
  const result: WindowOccurrence[] = [];
  for (const day of recurrence.between(dtstart, until, true)) {
    const plainStart = Temporal.PlainDateTime.from({
      year: day.getUTCFullYear(),
      month: day.getUTCMonth() + 1,
      day: day.getUTCDate(),
      hour,
      minute,
    });
    const start = firstValidInstant(plainStart, rule.timezone);
    const wallEnd = plainStart
      .add({ minutes: rule.durationMinutes })
      .toZonedDateTime(rule.timezone, { disambiguation: "compatible" })
      .toInstant();
    const cap = start.add({ minutes: rule.durationMinutes });
    const end = Temporal.Instant.compare(wallEnd, cap) < 0 ? wallEnd : cap;
    const occurrence = {
      ruleId: rule.id,
      name: rule.name,
      timezone: rule.timezone,
      start: new Date(start.epochMilliseconds),
      end: new Date(end.epochMilliseconds),
    };
    if (occurrence.end > from && occurrence.start < to) result.push(occurrence);
  }
  return result;
}

/**
 * The instant of a wall-clock time in a zone; a time skipped by a spring-forward change becomes the
 * first valid instant after it (02:30 in a 02:00→03:00 gap starts at 03:00).
 */
function firstValidInstant(plain: Temporal.PlainDateTime, zone: string): Temporal.Instant {
  for (let wall = plain, step = 0; step <= 180; wall = wall.add({ minutes: 1 }), step++) {
    const zoned = wall.toZonedDateTime(zone, { disambiguation: "compatible" });
    if (Temporal.PlainDateTime.compare(zoned.toPlainDateTime(), wall) === 0) {
      // This wall time exists in the zone (it round-trips): the first valid one.
      return zoned.toInstant();
    }
  }
  return plain.toZonedDateTime(zone, { disambiguation: "compatible" }).toInstant();
}

/** The windows of the given rules that apply to a service (its own and the global ones), in time order. */
export function windowsFor(rules: WindowRule[], serviceId: string | null, from: Date, to: Date): WindowOccurrence[] {
  return rules
    .filter((r) => r.active && (r.serviceId === null || r.serviceId === serviceId))
    .flatMap((r) => occurrences(r, from, to))
    .sort((a, b) => a.start.getTime() - b.start.getTime());
}

export function windowAt(rules: WindowRule[], serviceId: string | null, now: Date): WindowOccurrence | null {
  return (
    windowsFor(
      rules,
      serviceId,
      new Date(now.getTime() - MAX_WINDOW_MINUTES * 60_000),
      new Date(now.getTime() + 60_000),
    ).find((w) => w.start <= now && now < w.end) ?? null
  );
}

export function nextWindows(
  rules: WindowRule[],
  serviceId: string | null,
  now: Date,
  count: number,
  horizonDays = 400,
): WindowOccurrence[] {
  return windowsFor(rules, serviceId, now, new Date(now.getTime() + horizonDays * 86_400_000))
    .filter((w) => w.start > now)
    .slice(0, count);
}

/** The last moment a new traffic step may start in a window. */
export function stepCutoff(window: Pick<WindowOccurrence, "end">): Date {
  return new Date(window.end.getTime() - STEP_CUTOFF_MINUTES * 60_000);
}

/** The first overlap between a candidate rule and existing ones over the next two years, if any. */
export function findOverlap(
  candidate: WindowRule,
  existing: WindowRule[],
  now = new Date(),
): { other: WindowRule; at: WindowOccurrence } | null {
  const to = new Date(now.getTime() + 730 * 86_400_000);
  const mine = occurrences(candidate, now, to);
  for (const other of existing) {
    if (!other.active || other.id === candidate.id) continue;
    // Rules for different services never collide; a global rule collides with every service's.
    if (other.serviceId !== null && candidate.serviceId !== null && other.serviceId !== candidate.serviceId) continue;
    const theirs = occurrences(other, now, to);
    for (const a of mine) if (theirs.some((b) => a.start < b.end && b.start < a.end)) return { other, at: a };
  }
  return null;
}

/** "Sunday, 13 December 2026, 02:00–04:00 EST (America/New_York)", in the reader's zone. */
export function describeWindow(window: Pick<WindowOccurrence, "start" | "end">, timeZone: string): string {
  const zone = isKnownTimeZone(timeZone) ? timeZone : "UTC";
  const day = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
  }).format(window.start);
  const time = (d: Date) =>
    new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
      d,
    );
  const abbreviation =
    new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" })
      .formatToParts(window.end)
      .find((p) => p.type === "timeZoneName")?.value ?? zone;
  return `${day}, ${time(window.start)}–${time(window.end)} ${abbreviation} (${zone})`;
}
