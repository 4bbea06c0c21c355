"use client";
/**
 * Live charts of an environment: requests/s, error rate and p50/p95/p99 latency per slot, and the
 * traffic split, one point per second. Presentational: the page feeds it points.
 */
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface ChartPoint {
  t: number;
  blueRps?: number;
  greenRps?: number;
  blueErr?: number | null;
  greenErr?: number | null;
  blueP50?: number | null;
  blueP95?: number | null;
  blueP99?: number | null;
  greenP50?: number | null;
  greenP95?: number | null;
  greenP99?: number | null;
  blueWeight?: number;
  greenWeight?: number;
}

const BLUE = "#2563eb";
const GREEN = "#16a34a";
const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

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

export function MetricsCharts({ points }: { points: ChartPoint[] }) {
  const common = { data: points, margin: { top: 4, right: 8, bottom: 0, left: -10 } };
  const axis = <XAxis dataKey="t" type="number" domain={["dataMin", "dataMax"]} tickFormatter={time} minTickGap={40} fontSize={11} />;
  return (
    <div className="charts" data-points={points.length} data-testid="charts">
      <Chart title="Requests per second" testId="chart-rps">
        <LineChart {...common}>
          <CartesianGrid strokeDasharray="3 3" />
          {axis}
          <YAxis fontSize={11} />
          <Tooltip labelFormatter={(t) => time(Number(t))} />
          <Legend />
          <Line type="monotone" dataKey="blueRps" name="blue" stroke={BLUE} dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="greenRps" name="green" stroke={GREEN} dot={false} isAnimationActive={false} />
        </LineChart>
      </Chart>
      <Chart title="Error rate (%)" testId="chart-errors">
        <LineChart {...common}>
          <CartesianGrid strokeDasharray="3 3" />
          {axis}
          <YAxis fontSize={11} />
          <Tooltip labelFormatter={(t) => time(Number(t))} />
          <Legend />
          <Line type="monotone" dataKey="blueErr" name="blue" stroke={BLUE} dot={false} connectNulls isAnimationActive={false} />
          <Line type="monotone" dataKey="greenErr" name="green" stroke={GREEN} dot={false} connectNulls isAnimationActive={false} />
        </LineChart>
      </Chart>
      <Chart title="Latency (ms): p50 / p95 / p99" testId="chart-latency">
        <LineChart {...common}>
          <CartesianGrid strokeDasharray="3 3" />
          {axis}
          <YAxis fontSize={11} />
          <Tooltip labelFormatter={(t) => time(Number(t))} />
          <Legend />
          <Line dataKey="blueP50" name="blue p50" stroke={BLUE} strokeOpacity={0.4} dot={false} connectNulls isAnimationActive={false} />
          <Line dataKey="blueP95" name="blue p95" stroke={BLUE} dot={false} connectNulls isAnimationActive={false} />
          <Line dataKey="blueP99" name="blue p99" stroke={BLUE} strokeDasharray="4 2" dot={false} connectNulls isAnimationActive={false} />
          <Line dataKey="greenP50" name="green p50" stroke={GREEN} strokeOpacity={0.4} dot={false} connectNulls isAnimationActive={false} />
          <Line dataKey="greenP95" name="green p95" stroke={GREEN} dot={false} connectNulls isAnimationActive={false} />
          <Line dataKey="greenP99" name="green p99" stroke={GREEN} strokeDasharray="4 2" dot={false} connectNulls isAnimationActive={false} />
        </LineChart>
      </Chart>
      <Chart title="Traffic split (%)" testId="chart-split">
        <AreaChart {...common}>
          <CartesianGrid strokeDasharray="3 3" />
          {axis}
          <YAxis domain={[0, 100]} fontSize={11} />
          <Tooltip labelFormatter={(t) => time(Number(t))} />
          <Legend />
          <Area type="stepAfter" dataKey="blueWeight" name="blue" stackId="w" stroke={BLUE} fill={BLUE} fillOpacity={0.35} isAnimationActive={false} />
          <Area type="stepAfter" dataKey="greenWeight" name="green" stackId="w" stroke={GREEN} fill={GREEN} fillOpacity={0.35} isAnimationActive={false} />
        </AreaChart>
      </Chart>
    </div>
  );
}
