"use client";
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useState } from "react";
import type { ChartPoint } from "@/components/MetricsCharts";
import { useRealtimeEvent, useTRPC } from "../../../_lib/trpc";

type SlotSecond = { requests: number; errors: number; p50: number | null; p95: number | null; p99: number | null };
interface LiveSample {
  environmentId: string;
  at: string;
  slots: { blue: SlotSecond; green: SlotSecond };
  weights: { blue: number; green: number };
}

const WINDOW_MS = 15 * 60 * 1000;
const rate = (s: SlotSecond) => (s.requests ? Math.round((s.errors / s.requests) * 10000) / 100 : null);

function point(at: number, slots: { blue?: SlotSecond; green?: SlotSecond }, weights: { blue?: number; green?: number }): ChartPoint {
  return {
    t: at,
    blueRps: slots.blue?.requests,
    greenRps: slots.green?.requests,
    blueErr: slots.blue ? rate(slots.blue) : null,
    greenErr: slots.green ? rate(slots.green) : null,
    blueP50: slots.blue?.p50,
    blueP95: slots.blue?.p95,
    blueP99: slots.blue?.p99,
    greenP50: slots.green?.p50,
    greenP95: slots.green?.p95,
    greenP99: slots.green?.p99,
    blueWeight: weights.blue,
    greenWeight: weights.green,
  };
}

/**
 * The last 15 minutes of an environment's per-second metrics: loaded from the database, then
 * extended live by the `metrics` events of the environment's room, without a reload.
 */
export function useEnvironmentMetrics(environmentId: string | undefined): ChartPoint[] {
  const trpc = useTRPC();
  const history = useQuery({ ...trpc.environments.metrics.queryOptions({ environmentId: environmentId ?? "", minutes: 15 }), enabled: Boolean(environmentId), staleTime: Infinity });
  const [points, setPoints] = useState<ChartPoint[]>([]);

  useEffect(() => {
    if (!history.data) return;
    const bySecond = new Map<number, { blue?: SlotSecond; green?: SlotSecond; weights: { blue?: number; green?: number } }>();
    for (const p of history.data.points) {
      const t = new Date(p.at).getTime();
      const entry = bySecond.get(t) ?? { weights: {} };
      entry[p.slot] = p;
      entry.weights[p.slot] = p.weight;
      bySecond.set(t, entry);
    }
    const loaded = [...bySecond.entries()].sort(([a], [b]) => a - b).map(([t, e]) => point(t, e, e.weights));
    setPoints((live) => {
      const last = loaded.length ? loaded[loaded.length - 1]!.t : 0;
      return [...loaded, ...live.filter((p) => p.t > last)];
    });
  }, [history.data]);

  const onSample = useCallback(
    (sample: LiveSample) => {
      if (sample.environmentId !== environmentId) return;
      const t = new Date(sample.at).getTime();
      setPoints((current) => {
        if (current.length && current[current.length - 1]!.t >= t) return current;
        const cutoff = t - WINDOW_MS;
        return [...current.filter((p) => p.t >= cutoff), point(t, sample.slots, sample.weights)];
      });
    },
    [environmentId],
  );
  useRealtimeEvent("metrics", onSample, environmentId ? [`env:${environmentId}`] : []);
  return points;
}
