/**
 * Times on the maintenance and notification pages: formatted in the viewer's zone (or a rule's own
 * zone), with live countdowns. 24-hour clock and day-month order, like the server's own messages.
 */
import { useEffect, useState } from "react";

const LOCALE = "en-GB";

/** The viewer's IANA time zone ("Europe/Berlin"). */
export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** "EST", "CET", else the offset ("GMT+9"): American English names American zones, British English European ones. */
function zoneName(date: Date, timeZone: string | undefined): string {
  const name = (locale: string) =>
    new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: "short" })
      .formatToParts(date)
      .find((p) => p.type === "timeZoneName")?.value ?? "";
  const american = name("en-US");
  if (!/^GMT[+-]/.test(american)) return american;
  const british = name("en-GB");
  return /^GMT[+-]/.test(british) ? american : british;
}

/** "Sun 13 Dec 2026" */
export function formatDay(date: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat(LOCALE, {
    timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
  }).format(date);
}

/** "02:00" */
export function formatClock(date: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat(LOCALE, { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    date,
  );
}

/** "Sun 13 Dec 2026, 02:00 EST" */
export function formatDateTime(date: Date, timeZone?: string): string {
  return `${formatDay(date, timeZone)}, ${formatClock(date, timeZone)} ${zoneName(date, timeZone)}`.trim();
}

/** "Sun 13 Dec 2026, 02:00–04:00 EST" (the end's day is named when it differs). */
export function formatRange(start: Date, end: Date, timeZone?: string): string {
  const sameDay = formatDay(start, timeZone) === formatDay(end, timeZone);
  const endText = sameDay ? formatClock(end, timeZone) : `${formatDay(end, timeZone)}, ${formatClock(end, timeZone)}`;
  return `${formatDay(start, timeZone)}, ${formatClock(start, timeZone)}–${endText} ${zoneName(end, timeZone)}`.trim();
}

/**
 * A duration as people read a countdown: "3 d 4 h", "4 h 12 min", "12 min 5 s", "45 s". With
 * `seconds`, hours and minutes keep their seconds too ("1 h 23 min 12 s").
 */
export function formatDuration(ms: number, options: { seconds?: boolean } = {}): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return options.seconds ? `${h} h ${m} min ${s} s` : `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** A window's length: "2 h", "1 h 30 min", "45 min". */
export function formatLength(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** ISO timestamps inside a server-written text ("… due 2026-11-25T22:26:59.161Z.") in the reader's time. */
export function localiseTimestamps(text: string, timeZone?: string): string {
  return text.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})\b/g, (iso) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : formatDateTime(date, timeZone);
  });
}

/** "in 3 d 4 h" or "5 min ago". */
export function relative(target: Date | number, now: number, options: { seconds?: boolean } = {}): string {
  const diff = (typeof target === "number" ? target : target.getTime()) - now;
  return diff >= 0 ? `in ${formatDuration(diff, options)}` : `${formatDuration(-diff, options)} ago`;
}

/** The current time, re-read every `intervalMs` while the component is mounted. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Common IANA zones for the rule form's suggestions (the server accepts any IANA zone). */
export const COMMON_ZONES = [
  "UTC",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Los_Angeles",
  "America/Phoenix",
  "America/Anchorage",
  "America/Toronto",
  "America/Sao_Paulo",
  "America/Mexico_City",
  "Europe/London",
  "Europe/Dublin",
  "Europe/Lisbon",
  "Europe/Paris",
  "Europe/Berlin",
  "Europe/Amsterdam",
  "Europe/Madrid",
  "Europe/Stockholm",
  "Europe/Warsaw",
  "Europe/Helsinki",
  "Europe/Istanbul",
  "Europe/Moscow",
  "Africa/Johannesburg",
  "Asia/Dubai",
  "Asia/Kolkata",
  "Asia/Singapore",
  "Asia/Shanghai",
  "Asia/Tokyo",
  "Asia/Seoul",
  "Australia/Perth",
  "Australia/Sydney",
  "Pacific/Auckland",
  "Pacific/Honolulu",
] as const;

/** "just now", "5 min ago", "2 h 5 min ago", "3 d 4 h ago". */
export function ago(target: Date, now: number): string {
  const diff = now - target.getTime();
  if (diff < 60_000) return "just now";
  const minutes = Math.floor(diff / 60_000);
  if (minutes < 60) return `${minutes} min ago`;
  return `${formatDuration(diff)} ago`;
}
