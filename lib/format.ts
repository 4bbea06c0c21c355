/**
 * Every number, date and duration the pages show is rounded here, where it is formatted, and nowhere
 * else. Framework-free (no React, no Next), so unit tests and any page can use it.
 */

const LOCALE = "en-US";

/** A count: "1,234". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return Math.round(value).toLocaleString(LOCALE);
}

/**
 * A plain number with as many decimals as its size warrants: 142.3075860000099 → "142",
 * 5.88645499991253 → "5.89", 0.0123 → "0.012". Never more than `maxDigits` decimals.
 */
export function formatNumber(value: number | null | undefined, maxDigits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  const digits = Math.min(maxDigits, abs === 0 || abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
  return Number(value.toFixed(digits)).toLocaleString(LOCALE, { maximumFractionDigits: digits });
}

/** A percentage given in percent: 3.14159 → "3.1 %", 0.0421 → "0.042 %", 100 → "100 %". */
export function formatPercent(percent: number | null | undefined): string {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return "—";
  const abs = Math.abs(percent);
  const digits = abs === 0 || abs >= 100 ? 0 : abs < 0.1 ? 3 : abs < 1 ? 2 : 1;
  return `${Number(percent.toFixed(digits))} %`;
}

/** A share given as a fraction (0..1) in percent: 0.031 → "3.1 %". */
export function formatRate(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  return formatPercent(fraction * 100);
}

/** Percentage points: "0.12 pp". */
export function formatPp(pp: number | null | undefined): string {
  if (pp === null || pp === undefined || !Number.isFinite(pp)) return "—";
  return `${formatNumber(pp, 3)} pp`;
}

/** Milliseconds: "4.2 ms" below 10, whole milliseconds above ("1,250 ms"). */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return ms < 10 ? `${Number(ms.toFixed(1))} ms` : `${Math.round(ms).toLocaleString(LOCALE)} ms`;
}

/** Requests per second: "12.3/s". */
export function formatRps(rps: number | null | undefined): string {
  if (rps === null || rps === undefined || !Number.isFinite(rps)) return "—";
  return `${formatNumber(rps, 1)}/s`;
}

/** A duration given in seconds: 5.886 → "5.9 s", 142.3 → "2 min 22 s", 7300 → "2 h 1 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 0) return `−${formatDuration(-seconds)}`;
  if (seconds < 10) return `${Number(seconds.toFixed(1))} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  return s ? `${m} min ${s} s` : `${m} min`;
}

type DateLike = string | number | Date | null | undefined;
const toDate = (value: DateLike) => (value === null || value === undefined ? null : new Date(value));

/**
 * Date and time, to the second, in the viewer's zone: "12/1/2026, 14:05:09". The hour cycle is h23:
 * `hour12: false` wrote the first hour after midnight as "24:05:09".
 */
export function formatDateTime(value: DateLike): string {
  const d = toDate(value);
  return d && !Number.isNaN(d.getTime()) ? d.toLocaleString(LOCALE, { hourCycle: "h23" }) : "—";
}

/** Time of day to the second: "14:05:09". */
export function formatTime(value: DateLike): string {
  const d = toDate(value);
  return d && !Number.isNaN(d.getTime())
    ? d.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
    : "—";
}

/** The date alone: "12/1/2026". */
export function formatDate(value: DateLike): string {
  const d = toDate(value);
  return d && !Number.isNaN(d.getTime()) ? d.toLocaleDateString(LOCALE) : "—";
}
