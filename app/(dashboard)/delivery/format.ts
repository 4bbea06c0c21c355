/** How the delivery page writes its figures: each number is rounded here, where it is formatted. */
import type { Direction } from "@/server/delivery/dora";
import { formatDuration } from "../maintenance/time";

export function formatPerDay(perDay: number): string {
  if (perDay === 0) return "none";
  if (perDay >= 1) return `${Math.round(perDay * 10) / 10} a day`;
  const perWeek = perDay * 7;
  return perWeek >= 1 ? `${Math.round(perWeek * 10) / 10} a week` : `${Math.round(perDay * 30 * 10) / 10} a month`;
}

export function formatSeconds(seconds: number | null): string {
  return seconds === null ? "—" : formatDuration(seconds * 1000);
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? "—" : `${Math.round(ratio * 1000) / 10}%`;
}

export const TREND_SYMBOL: Record<NonNullable<Direction>, string> = {
  better: "▲ better",
  worse: "▼ worse",
  same: "= same",
};
