"use client";
/**
 * Live charts of an environment: requests/s, error rate and p50/p95/p99 latency per slot, and the
 * traffic split, one point per second (local target) or per CloudWatch period (ECS, which the
 * caption names, with how far behind its newest period is). Presentational: the page feeds it points
 * (components/chart-series.ts), the step boundaries to mark and the range to show.
 *
 * No line crosses a second without data: the points carry a break there and connectNulls is off.
 */
import { memo } from "react";
import {
  Area,
  AreaChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { formatMs, formatNumber, formatPercent, formatTime } from "../lib/format";
import { withGaps, type ChartPoint, type SlotName } from "./chart-series";

export type { ChartPoint } from "./chart-series";

const BLUE = "#2563eb";
const GREEN = "#16a34a";
const time = formatTime;

function Chart({ title, children, testId }: { title: string; children: React.ReactElement; testId: string }) {
  return (
    <div className="card chart" data-testid={testId}>
      <h3>{title}</h3>
      <ResponsiveContainer width="100%" height={200}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

/**
 * What the charts are made of, when it is not one point a second: `CloudWatch, 60 s periods; the
 * newest covers 14:04:00–14:05:00 (95 s ago), later periods are still arriving`.
 */
export function feedCaption(points: readonly ChartPoint[], now: number, cloudWatch = false): string | null {
  const last = points[points.length - 1];
  // One point a second is the local target's own measure, unless it is CloudWatch's 1 s high-resolution period.
  if (!last || (!cloudWatch && (last.seconds ?? 1) <= 1)) return null;
  const end = last.t + last.seconds! * 1000;
  return `CloudWatch, ${last.seconds ?? 1} s periods; the newest covers ${time(last.t)}–${time(end)} (${Math.max(0, Math.round((now - end) / 1000))} s ago), later periods are still arriving`;
}

/** A line of a chart: one slot's `field` of the points (blueRps, greenP95…), named by the slot and `label`. */
interface SlotSeries {
  slot: SlotName;
  field: string;
  label?: string;
  style?: { strokeOpacity?: number; strokeDasharray?: string };
}

const bothSlots = (field: string): SlotSeries[] => [
  { slot: "blue", field },
  { slot: "green", field },
];

/** p50 faint, p95 solid, p99 dashed: each slot's three latency lines in its own colour. */
const LATENCY_LINES: Omit<SlotSeries, "slot">[] = [
  { field: "P50", label: "p50", style: { strokeOpacity: 0.4 } },
  { field: "P95", label: "p95" },
  { field: "P99", label: "p99", style: { strokeDasharray: "4 2" } },
];

export interface ChartMark {
  t: number;
  label: string;
}

export interface MetricsChartsProps {
  points: ChartPoint[];
  now?: number;
  /** The time range shown (ms); by default the points' own. */
  range?: { from: number; to: number };
  /** Vertical lines: where each traffic step began. */
  marks?: ChartMark[];
  /** What each slot is in this deployment: "blue (live)", "green (new)". */
  names?: Record<SlotName, string>;
  /** The points are CloudWatch periods (an ECS environment): the caption names the newest and its lag. */
  cloudWatch?: boolean;
}

/** Memoised: a page that renders again for other live events does not draw its charts again (see LiveCharts). */
export const MetricsCharts = memo(function MetricsCharts({
  points,
  // eslint-disable-next-line react-hooks/purity -- callers with live data pass `now`; the default is for a static render
  now = Date.now(),
  range,
  marks = [],
  names = { blue: "blue", green: "green" },
  cloudWatch = false,
}: MetricsChartsProps) {
  const shown = range ? points.filter((p) => p.t >= range.from && p.t <= range.to) : points;
  const data = withGaps(shown);
  const common = { data, margin: { top: 4, right: 8, bottom: 0, left: -10 } };
  const domain: [number | string, number | string] = range ? [range.from, range.to] : ["dataMin", "dataMax"];
  const axis = (
    <XAxis
      dataKey="t"
      type="number"
      domain={domain}
      allowDataOverflow
      tickFormatter={time}
      minTickGap={40}
      fontSize={11}
    />
  );
  const lines = marks
    .filter((m) => !range || (m.t >= range.from && m.t <= range.to))
    .map((m) => (
      <ReferenceLine
        key={m.t}
        x={m.t}
        stroke="#64748b"
        strokeDasharray="3 3"
        label={{ value: m.label, position: "insideTopLeft", fontSize: 10, fill: "#475569" }}
      />
    ));
  const caption = feedCaption(points, now, cloudWatch);
  const tooltip = (format: (v: number) => string) => (
    <Tooltip
      labelFormatter={(t) => time(Number(t))}
      formatter={(v) => (typeof v === "number" ? format(v) : String(v ?? "—"))}
    />
  );
  /** One line chart of per-slot series, with the step marks, the shared axis and the tooltip's unit. */
  const lineChart = (title: string, testId: string, format: (v: number) => string, series: SlotSeries[]) => (
    <Chart title={title} testId={testId}>
      <LineChart {...common}>
        <CartesianGrid strokeDasharray="3 3" />
        {axis}
        <YAxis fontSize={11} />
        {tooltip(format)}
        <Legend />
        {lines}
        {series.map(({ slot, field, label, style }) => (
          <Line
            key={`${slot}${field}`}
            type="linear"
            dataKey={`${slot}${field}`}
            name={label ? `${names[slot]} ${label}` : names[slot]}
            stroke={slot === "blue" ? BLUE : GREEN}
            {...style}
            dot={false}
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </Chart>
  );
  return (
    <div className="charts" data-points={points.length} data-testid="charts">
      {caption && (
        <p className="muted" data-testid="charts-source" style={{ gridColumn: "1 / -1", margin: 0 }}>
          {caption}
        </p>
      )}
      {lineChart("Requests per second", "chart-rps", (v) => `${formatNumber(v, 1)}/s`, bothSlots("Rps"))}
      {lineChart("Error rate (%)", "chart-errors", formatPercent, bothSlots("Err"))}
      {lineChart(
        "Latency (ms): p50 / p95 / p99",
        "chart-latency",
        formatMs,
        (["blue", "green"] as const).flatMap((slot) => LATENCY_LINES.map((line) => ({ slot, ...line }))),
      )}
      <Chart title="Traffic split (%)" testId="chart-split">
        <AreaChart {...common}>
          <CartesianGrid strokeDasharray="3 3" />
          {axis}
          <YAxis domain={[0, 100]} fontSize={11} />
          {tooltip((v) => `${formatNumber(v, 0)} %`)}
          <Legend />
          {lines}
          <Area
            type="stepAfter"
            dataKey="blueWeight"
            name={names.blue}
            stackId="w"
            stroke={BLUE}
            fill={BLUE}
            fillOpacity={0.35}
            isAnimationActive={false}
          />
          <Area
            type="stepAfter"
            dataKey="greenWeight"
            name={names.green}
            stackId="w"
            stroke={GREEN}
            fill={GREEN}
            fillOpacity={0.35}
            isAnimationActive={false}
          />
        </AreaChart>
      </Chart>
    </div>
  );
});
