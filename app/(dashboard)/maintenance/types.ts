import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";

type Outputs = inferRouterOutputs<AppRouter>;

export type Emergency = Outputs["maintenance"]["emergencies"][number];
export type Review = NonNullable<Emergency["review"]>;
export type WindowRule = Outputs["maintenance"]["rules"][number];
export type ServiceSummary = Outputs["services"]["list"][number];

/** What the sections need of the emergencies query (the page owns it). */
export interface EmergenciesQuery {
  data: Emergency[] | undefined;
  error: unknown;
  isPending: boolean;
}

/** One audit event of a review's timeline (server/governance/emergencies.ts, incidentTimeline). */
export interface TimelineEvent {
  seq: number;
  at: string;
  actor: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
}

export interface FollowUp {
  action: string;
  owner: string;
  due: string;
}

export function timelineOf(review: Review): TimelineEvent[] {
  return Array.isArray(review.timeline) ? (review.timeline as unknown as TimelineEvent[]) : [];
}

export function followUpsOf(review: Review): FollowUp[] {
  if (!Array.isArray(review.followUps)) return [];
  return (review.followUps as unknown as Partial<FollowUp>[]).map((f) => ({
    action: String(f.action ?? ""),
    owner: String(f.owner ?? ""),
    due: String(f.due ?? ""),
  }));
}
