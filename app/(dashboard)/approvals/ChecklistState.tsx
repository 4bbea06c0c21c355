"use client";
import { useQuery } from "@tanstack/react-query";
import { Icon } from "@/components/Icon";
import { useTRPC } from "../../_lib/trpc";

/** "3 of 4 required items done" for a release's checklist in one environment (shares the checklist's cached query). */
export function ChecklistState({ releaseId, environmentId }: { releaseId: string; environmentId: string }) {
  const trpc = useTRPC();
  const items = useQuery(trpc.checklist.get.queryOptions({ releaseId, environmentId }));
  if (!items.data) return <span className="muted">checklist…</span>;
  const required = items.data.filter((i) => i.required);
  const done = required.filter((i) => i.done).length;
  if (required.length === 0)
    return (
      <span className="muted" data-testid="checklist-state">
        no checklist
      </span>
    );
  const complete = done === required.length;
  return (
    <span data-testid="checklist-state" data-complete={complete} className={complete ? "" : "cl-incomplete"}>
      <Icon name={complete ? "box-checked" : "box"} className={complete ? "icon-ok" : "icon-muted"} /> {done} of{" "}
      {required.length} required item{required.length === 1 ? "" : "s"} done
    </span>
  );
}
