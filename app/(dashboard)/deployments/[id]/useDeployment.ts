"use client";
/**
 * The deployment as the page shows it: the read model (deployments.get), kept current by the
 * deployment's and the environment's events. Everything live goes into the react-query cache, never
 * into component state, so every part of the page reads one source.
 *
 * What the events carry between two reads (the split, the status detail) is kept in a cache entry of
 * its own and laid over the read model while it is newer: written into the read model's entry, it
 * would restart that query's refetch timer at every event (TanStack Query restarts it on each update),
 * and with the split arriving every second the page never read the deployment again.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import type { GatePayload } from "@/server/realtime/event-map";
import { useRealtimeEvent, useRoomsJoined, useTRPC } from "../../../_lib/trpc";

export type LiveGates = { stepIndex: number; gates: GatePayload[] } | null;

const liveGatesKey = (deploymentId: string) => ["deployment-live-gates", deploymentId] as const;

/** The split and the status detail as events last said, and when (epoch ms). */
type LivePatch = { at: number; weights?: { blue: number; green: number }; statusDetail?: string } | null;
const livePatchKey = (deploymentId: string) => ["deployment-live-patch", deploymentId] as const;

export function useDeployment(deploymentId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const options = trpc.deployments.get.queryOptions({ id: deploymentId });
  const key = options.queryKey;
  const deployment = useQuery({ ...options, refetchInterval: 5000 });
  const liveGates = useQuery({
    queryKey: liveGatesKey(deploymentId),
    queryFn: () => null as LiveGates,
    initialData: null as LiveGates,
    staleTime: Infinity,
    enabled: false,
  });
  const room = [`deployment:${deploymentId}`];
  const environmentId = deployment.data?.environment.id;

  const livePatch = useQuery({
    queryKey: livePatchKey(deploymentId),
    queryFn: () => null as LivePatch,
    initialData: null as LivePatch,
    staleTime: Infinity,
    enabled: false,
  });
  const patch = useCallback(
    (fields: Omit<NonNullable<LivePatch>, "at">) =>
      queryClient.setQueryData(livePatchKey(deploymentId), (p: LivePatch): LivePatch => ({
        ...p,
        ...fields,
        at: Date.now(),
      })),
    [deploymentId, queryClient],
  );

  const refresh = useCallback(() => void queryClient.invalidateQueries({ queryKey: key }), [queryClient, key]);
  useRealtimeEvent("deployment:changed", refresh, room);
  // A change between the first read and the moment the rooms were joined would otherwise be missed.
  useRoomsJoined(room, refresh);
  useRealtimeEvent(
    "deployment:detail",
    useCallback(
      (e) => {
        if (e.deploymentId === deploymentId) patch({ statusDetail: e.detail });
      },
      [deploymentId, patch],
    ),
    room,
  );
  useRealtimeEvent(
    "deployment:gates",
    useCallback(
      (e) => {
        if (e.deploymentId === deploymentId)
          queryClient.setQueryData(liveGatesKey(deploymentId), (): LiveGates => ({
            stepIndex: e.stepIndex,
            gates: e.gates,
          }));
      },
      [deploymentId, queryClient],
    ),
    room,
  );
  // The split as the reconciler sets it, and as each second measures it; an ended deployment keeps
  // the split it left (the read model's), whatever later seconds say.
  const onWeights = useCallback(
    (e: { environmentId: string; weights: { blue: number; green: number } }) => {
      if (e.environmentId === environmentId) patch({ weights: e.weights });
    },
    [environmentId, patch],
  );
  const envRoom = environmentId ? [`env:${environmentId}`] : [];
  useRealtimeEvent("weights", onWeights, envRoom);
  useRealtimeEvent("metrics", onWeights, envRoom);

  const merged = useMemo(() => {
    const d = deployment.data;
    const p = livePatch.data;
    if (!d || !p || !d.active || p.at <= deployment.dataUpdatedAt) return d;
    return {
      ...d,
      ...(p.weights ? { weights: p.weights } : {}),
      ...(p.statusDetail ? { statusDetail: p.statusDetail } : {}),
    };
  }, [deployment.data, deployment.dataUpdatedAt, livePatch.data]);

  // Only what the page reads: spreading the query result would read every tracked property, and
  // TanStack Query would then re-render the page on changes it never shows (isFetching, say).
  return { deployment: { data: merged, error: deployment.error }, liveGates: liveGates.data, refresh };
}
