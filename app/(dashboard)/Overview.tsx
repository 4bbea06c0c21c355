"use client";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useCallback, useState, type FormEvent } from "react";
import { EmptyState } from "@/components/EmptyState";
import { Notice } from "@/components/Notice";
import { errorMessage, useRealtimeEvent, useTRPC } from "../_lib/trpc";
import { ServiceTable } from "./ServiceTable";
import { formText } from "../../lib/form-text";
import { useDebouncedValue } from "@/components/use-debounced-value";
import { OVERVIEW_PAGE_SIZE, OVERVIEW_SHOWS, type OverviewShow } from "@/server/overview-page";
import { formatDateTime, formatTime } from "@/lib/format";

/** The overview's query, from the URL the table keeps (`q`, `show`, `sort`, `page`). */
function useOverviewQuery() {
  const params = useSearchParams();
  const search = useDebouncedValue(params.get("q") ?? "", 250);
  const showParam = params.get("show");
  const show: OverviewShow = showParam && showParam in OVERVIEW_SHOWS ? (showParam as OverviewShow) : "all";
  const sort = params.get("sort")?.split(",")[0] || "service";
  const page = Math.max(1, Math.floor(Number(params.get("page"))) || 1);
  return { search, show, sort, page, pageSize: OVERVIEW_PAGE_SIZE };
}

export function Overview({ canCreateService }: { canCreateService: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const query = useOverviewQuery();
  const overview = useQuery({
    ...trpc.services.overview.queryOptions(query),
    refetchInterval: 5000,
    // The rows of the last answer stay (dimmed) while the next search or page is on its way.
    placeholderData: keepPreviousData,
  });
  const refresh = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: trpc.services.overview.queryKey() }),
    [queryClient, trpc],
  );
  useRealtimeEvent("deployment:changed", refresh, ["overview"]);
  useRealtimeEvent("alert", refresh, ["overview"]);
  useRealtimeEvent("alert:resolved", refresh, ["overview"]);
  useRealtimeEvent("service:created", refresh, ["overview"]);
  useRealtimeEvent("environment:changed", refresh, ["overview"]);
  const [creating, setCreating] = useState(false);
  const survey = useQuery(trpc.surveys.summary.queryOptions());
  const overdue = useQuery({ ...trpc.maintenance.overdueReviews.queryOptions(), refetchInterval: 60_000 });
  const emergencies = useQuery({ ...trpc.maintenance.emergencies.queryOptions(), refetchInterval: 30_000 });
  const active = emergencies.data?.filter((e) => e.active) ?? [];

  return (
    <>
      <div className="section-head">
        <h1>Overview</h1>
        {canCreateService && (
          <button type="button" className="primary" onClick={() => setCreating((v) => !v)}>
            {creating ? "Close" : "New service"}
          </button>
        )}
      </div>
      {creating && <CreateService onCreated={() => setCreating(false)} />}
      {active.map((e) => (
        <Notice key={e.id} kind="warn">
          Emergency maintenance in progress: {e.reason} (authorised by {e.decidedBy?.name ?? "?"} until{" "}
          {formatTime(e.expiresAt)}). <Link href={`/maintenance?emergency=${e.id}`}>Details</Link>
        </Notice>
      ))}
      {overdue.data?.map((r) => (
        <Notice key={r.id} kind="error">
          <span data-testid="overdue-review">
            Post-incident review overdue since {formatDateTime(r.dueAt)}: {r.emergency.reason}.
          </span>{" "}
          <Link href={`/maintenance?review=${r.id}`}>Open the review</Link>
        </Notice>
      ))}
      {survey.data && (
        <p className="muted" data-testid="survey-summary">
          Deployment satisfaction (30 days):{" "}
          {survey.data.average === null ? (
            "no ratings yet"
          ) : (
            <strong style={{ color: survey.data.meetsTarget ? "#166534" : "#991b1b" }}>
              {survey.data.average} / 5
            </strong>
          )}
          {survey.data.responses
            ? ` from ${survey.data.responses} rating${survey.data.responses === 1 ? "" : "s"}`
            : ""}{" "}
          · target {survey.data.target}
        </p>
      )}
      {overview.error && <Notice kind="error">{errorMessage(overview.error)}</Notice>}
      {overview.data && overview.data.total === 0 && (
        <EmptyState title="No services yet">
          <p>
            {canCreateService
              ? "Add a service to get its development, staging and production environments, each with blue and green slots."
              : "A release manager adds services; they appear here with the live version, health and any deployment in progress."}
          </p>
        </EmptyState>
      )}
      {overview.data && overview.data.total > 0 && (
        <ServiceTable page={overview.data} show={query.show} stale={overview.isPlaceholderData} />
      )}
    </>
  );
}

function CreateService({ onCreated }: { onCreated: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const create = useMutation(
    trpc.services.create.mutationOptions({
      onSuccess: (service) => {
        void queryClient.invalidateQueries({ queryKey: trpc.services.overview.queryKey() });
        onCreated();
        // The new service's page, where its releases are added next: with the overview paged, the new row
        // may well be on another page.
        router.push(`/services/${service.id}`);
      },
    }),
  );
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const environments = formText(form, "environments")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    create.mutate({
      name: formText(form, "name"),
      description: formText(form, "description"),
      environments: environments.length ? environments : undefined,
    });
  }
  return (
    <form className="card" onSubmit={onSubmit} aria-label="New service" style={{ marginBottom: "1rem" }}>
      {create.error && <Notice kind="error">{errorMessage(create.error)}</Notice>}
      <div className="row">
        <div className="field">
          <label htmlFor="svc-name">Name</label>
          <input id="svc-name" name="name" required />
        </div>
        <div className="field">
          <label htmlFor="svc-envs">Environments, in promotion order</label>
          <input id="svc-envs" name="environments" defaultValue="development, staging, production" />
        </div>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor="svc-desc">Description</label>
          <input id="svc-desc" name="description" style={{ width: "100%" }} />
        </div>
      </div>
      <button className="primary" type="submit" disabled={create.isPending}>
        Create service
      </button>
    </form>
  );
}
