"use client";
/**
 * The metric samples of a deployment's environment from a minute before it started to now: loaded
 * once, then extended by the environment's live `metrics` events, appended to the same cached query
 * (setQueryData), so a remount or another component reads the same series. A finished deployment's
 * series ends a minute after it did, and takes no live samples (a page opened days later shows the
 * deployment, not the days since).
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { samplesFromRows, type Sample, type SlotName } from "@/components/chart-series";
import { useRealtimeEvent, useTRPC } from "../../../_lib/trpc";

export const LEAD_IN_MS = 60_000;

export function useDeploymentMetrics(
  environmentId: string | undefined,
  startedAt: Date | string | undefined,
  finishedAt: Date | string | null | undefined,
): Sample[] {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const from = useMemo(
    () => (startedAt ? new Date(new Date(startedAt).getTime() - LEAD_IN_MS) : new Date(0)),
    [startedAt],
  );
  const to = useMemo(
    () => (finishedAt ? new Date(new Date(finishedAt).getTime() + LEAD_IN_MS) : undefined),
    [finishedAt],
  );
  const options = trpc.environments.metrics.queryOptions({ environmentId: environmentId ?? "", from, to });
  const key = options.queryKey;
  const series = useQuery({ ...options, enabled: Boolean(environmentId && startedAt), staleTime: Infinity });

  const onSample = useCallback(
    (sample: {
      environmentId: string;
      at: string;
      seconds: number;
      slots: Record<
        SlotName,
        {
          requests: number;
          errors: number;
          p50: number | null;
          p95: number | null;
          p99: number | null;
          vacant?: boolean;
        }
      >;
      weights: Record<SlotName, number>;
    }) => {
      if (sample.environmentId !== environmentId || finishedAt) return;
      queryClient.setQueryData(key, (current) => {
        if (!current) return current;
        const last = current.points[current.points.length - 1];
        if (last && new Date(last.at).getTime() >= new Date(sample.at).getTime()) return current;
        const rows = (["blue", "green"] as const).map((slot) => ({
          at: sample.at,
          seconds: sample.seconds,
          slot,
          ...sample.slots[slot],
          vacant: sample.slots[slot].vacant ?? false,
          weight: sample.weights[slot],
        }));
        return { ...current, points: [...current.points, ...rows] };
      });
    },
    [environmentId, finishedAt, queryClient, key],
  );
  useRealtimeEvent("metrics", onSample, environmentId && !finishedAt ? [`env:${environmentId}`] : []);
  return useMemo(() => samplesFromRows(series.data?.points ?? []), [series.data]);
}
