"use client";
/**
 * The release's checklist for this environment, on the deployment page: which required items still
 * block a production start, each item's evidence (CI's report, or who ticked it with what note), and
 * several manual items ticked at once with one note (checklist.tickMany: all or none, each audited).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { formatDateTime } from "@/lib/format";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import type { DeploymentData } from "./types";
import { formText } from "../../../../lib/form-text";

type Evidence = { status?: string; url?: string | null; details?: string | null; token?: string; at?: string } | null;

export function DeploymentChecklist({ d, canTick }: { d: DeploymentData; canTick: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = { releaseId: d.release.id, environmentId: d.environment.id };
  const checklist = useQuery(trpc.checklist.get.queryOptions(input));
  const [selected, setSelected] = useState<string[]>([]);
  const tickMany = useMutation(
    trpc.checklist.tickMany.mutationOptions({
      onSuccess: () => {
        setSelected([]);
        void queryClient.invalidateQueries({ queryKey: trpc.checklist.get.queryKey(input) });
      },
    }),
  );
  const items = checklist.data ?? [];
  const blocking = items.filter((i) => i.required && !i.done);

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const note = formText(form, "note").trim();
    tickMany.mutate({ ...input, keys: selected, note: note || undefined });
  }

  return (
    <section aria-label="Checklist">
      <h2>Checklist</h2>
      {checklist.error && <Notice kind="error">{errorMessage(checklist.error)}</Notice>}
      {checklist.data && items.length === 0 && <p className="muted">No checklist for {d.environment.name}.</p>}
      {items.length > 0 && (
        <>
          <p className={blocking.length ? "outcome-fail" : "muted"} data-testid="checklist-blocking">
            {blocking.length
              ? `${blocking.length} required item${blocking.length === 1 ? "" : "s"} not complete${d.environment.production ? ": a production deployment of this release cannot start until they are" : ""}.`
              : "Every required item is complete."}
          </p>
          <form onSubmit={submit} aria-label="Tick checklist items">
            <div className="table-scroll">
              <table aria-label="Checklist items">
                <thead>
                  <tr>
                    {canTick && <th aria-label="Select" />}
                    <th>Item</th>
                    <th>State</th>
                    <th>Evidence</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((i) => {
                    const evidence = i.evidence as Evidence;
                    const selectable = canTick && i.kind === "manual" && !i.done;
                    return (
                      <tr
                        key={i.key}
                        data-item={i.key}
                        data-done={i.done}
                        className={i.required && !i.done ? "blocking" : undefined}
                      >
                        {canTick && (
                          <td>
                            {selectable && (
                              <input
                                type="checkbox"
                                aria-label={`Select ${i.title}`}
                                checked={selected.includes(i.key)}
                                onChange={(e) =>
                                  setSelected((s) => (e.target.checked ? [...s, i.key] : s.filter((k) => k !== i.key)))
                                }
                              />
                            )}
                          </td>
                        )}
                        <td>
                          {i.title}
                          <span className="muted">
                            {i.required ? " · required" : " · optional"}
                            {i.kind === "automatic" ? " · from CI" : ""}
                          </span>
                        </td>
                        <td className={i.done ? "outcome-pass" : i.required ? "outcome-fail" : "muted"}>
                          {i.done ? "done" : i.required ? "blocking" : "open"}
                        </td>
                        <td>
                          {evidence ? (
                            <>
                              CI{evidence.token ? ` (${evidence.token})` : ""}: {evidence.status}
                              {evidence.url && (
                                <>
                                  {" "}
                                  <a href={evidence.url} rel="noreferrer">
                                    report
                                  </a>
                                </>
                              )}{" "}
                              <span className="muted">{formatDateTime(evidence.at)}</span>
                            </>
                          ) : i.done ? (
                            <>
                              {i.completedBy?.name ?? "someone"}: {i.note}
                              {i.link && (
                                <>
                                  {" "}
                                  <a href={i.link} rel="noreferrer">
                                    link
                                  </a>
                                </>
                              )}{" "}
                              <span className="muted">{formatDateTime(i.completedAt)}</span>
                            </>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {canTick && items.some((i) => i.kind === "manual" && !i.done) && (
              <div className="controls" style={{ marginTop: "0.5rem" }}>
                <label htmlFor="checklist-note">Note for the selected items</label>
                <input
                  id="checklist-note"
                  name="note"
                  placeholder="e.g. verified in the staging run"
                  style={{ minWidth: 0, flex: "1 1 16rem" }}
                />
                <button type="submit" className="primary" disabled={selected.length === 0 || tickMany.isPending}>
                  Tick {selected.length || ""} selected
                </button>
              </div>
            )}
            {tickMany.error && <Notice kind="error">{errorMessage(tickMany.error)}</Notice>}
          </form>
        </>
      )}
    </section>
  );
}
