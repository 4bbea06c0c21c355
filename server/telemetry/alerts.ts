/**
 * Alerts outside deployments: when an environment's live metrics cross its critical thresholds
 * (error rate, p95 latency over the last 30 seconds), an alert is recorded with severity, metric,
 * value, threshold and time, pushed live to the overview, and closed when the metric recovers.
 */
import { z } from "zod";

/** An environment's critical thresholds (a setting of the environment, read by the metrics pipeline). */
export const alertThresholdsSchema = z.object({
  /** Live error rate (percent, over the last 30 s) above which a critical alert opens. */
  errorRatePercent: z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100"),
  /** Live p95 latency (ms, over the last 30 s) above which a critical alert opens. */
  p95Ms: z.number().min(1, "must be between 1 and 600000 ms").max(600_000, "must be between 1 and 600000 ms"),
});
export type AlertThresholds = z.infer<typeof alertThresholdsSchema>;
export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = { errorRatePercent: 5, p95Ms: 1500 };

export interface SecondTotals {
  at: number;
  requests: number;
  errors: number;
  /** Request-weighted p95 of the second, across slots. */
  p95: number | null;
}

export const ALERT_WINDOW_SECONDS = 30;
/** Fewer requests than this in the window say too little to alert on. */
export const ALERT_MIN_REQUESTS = 20;

export type AlertMetric = "error_rate" | "latency_p95";

export interface AlertReading {
  metric: AlertMetric;
  value: number;
  threshold: number;
  breached: boolean;
}

/** Pure: the window's readings against the thresholds (none when there is too little traffic). */
export function readAlertWindow(seconds: SecondTotals[], thresholds: AlertThresholds): AlertReading[] {
  const requests = seconds.reduce((n, s) => n + s.requests, 0);
  if (requests < ALERT_MIN_REQUESTS) return [];
  const errors = seconds.reduce((n, s) => n + s.errors, 0);
  const withLatency = seconds.filter((s) => s.p95 !== null && s.requests > 0);
  const latencyWeight = withLatency.reduce((n, s) => n + s.requests, 0);
  const p95 = latencyWeight ? withLatency.reduce((n, s) => n + s.p95! * s.requests, 0) / latencyWeight : null;
  const errorRate = (errors / requests) * 100;
  const readings: AlertReading[] = [
    {
      metric: "error_rate",
      value: Math.round(errorRate * 1000) / 1000,
      threshold: thresholds.errorRatePercent,
      breached: errorRate > thresholds.errorRatePercent,
    },
  ];
  if (p95 !== null)
    readings.push({
      metric: "latency_p95",
      value: Math.round(p95 * 10) / 10,
      threshold: thresholds.p95Ms,
      breached: p95 > thresholds.p95Ms,
    });
  return readings;
}

/** `windowSeconds`: what the reading covers (the last 30 s, or the last CloudWatch period of an ECS environment). */
export function describeAlert(
  metric: AlertMetric,
  value: number,
  threshold: number,
  environment: string,
  windowSeconds = ALERT_WINDOW_SECONDS,
): string {
  return metric === "error_rate"
    ? `${environment}: error rate ${value}% over the last ${windowSeconds} s is above ${threshold}%`
    : `${environment}: p95 latency ${value} ms over the last ${windowSeconds} s is above ${threshold} ms`;
}
