"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef } from "react";
import { Notice } from "@/components/Notice";
import { useRealtimeEvent, useTRPC } from "../../_lib/trpc";
import { Emergencies } from "./Emergencies";
import { Reviews } from "./Reviews";
import { ScheduledDeployments } from "./Scheduled";
import { Subscriptions } from "./Subscriptions";
import { Windows } from "./Windows";
import { WindowRules } from "./WindowRules";
import type { Focus, MaintenanceCan } from "./permissions";

export function MaintenanceView({ can, focus }: { can: MaintenanceCan; focus: Focus }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Emergencies are pushed to the people concerned (a hint to refetch); the interval covers the rest.
  const emergencies = useQuery({ ...trpc.maintenance.emergencies.queryOptions(), refetchInterval: 30_000 });
  const refreshEmergencies = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.maintenance.emergencies.queryKey() }),
    [queryClient, trpc],
  );
  useRealtimeEvent(
    "notification",
    useCallback(
      (n: { kind?: string }) => {
        if (typeof n?.kind === "string" && /^(emergency|review)_/.test(n.kind)) refreshEmergencies();
      },
      [refreshEmergencies],
    ),
  );
  const services = useQuery(trpc.services.list.queryOptions());

  useFocus(focus, emergencies.isSuccess);
  const missing =
    emergencies.data &&
    ((focus.emergency && !emergencies.data.some((e) => e.id === focus.emergency)) ||
      (focus.review && !emergencies.data.some((e) => e.review?.id === focus.review)));

  return (
    <>
      <h1>Maintenance</h1>
      {missing && (
        <Notice kind="warn">
          The {focus.review ? "review" : "emergency"} the link points to is not among the latest 100 emergencies.
        </Notice>
      )}
      <Windows />
      <Subscriptions />

      <h2 id="scheduled">Scheduled deployments</h2>
      <ScheduledDeployments canCancel={can.cancelSchedule} />

      <h2 id="emergencies">Emergency maintenance</h2>
      <Emergencies
        can={can}
        focus={focus}
        emergencies={emergencies}
        services={services.data ?? []}
        onChanged={refreshEmergencies}
      />

      <h2 id="reviews">Post-incident reviews</h2>
      <Reviews can={can} focus={focus} emergencies={emergencies} onChanged={refreshEmergencies} />

      <h2 id="rules">Window rules</h2>
      <WindowRules can={can} services={services.data ?? []} />
    </>
  );
}

/** Scrolls to the item a deep link names (?emergency=… or ?review=…) once it is on the page. */
function useFocus(focus: Focus, loaded: boolean) {
  const done = useRef<string | null>(null);
  const target = focus.review ? `review-${focus.review}` : focus.emergency ? `emergency-${focus.emergency}` : null;
  useEffect(() => {
    if (!loaded || !target || done.current === target) return;
    const element = document.querySelector(`[data-testid="${CSS.escape(target)}"]`);
    if (!element) return;
    done.current = target;
    element.scrollIntoView({ block: "center", behavior: "smooth" });
    if (element instanceof HTMLElement) element.focus({ preventScroll: true });
  }, [loaded, target]);
}
