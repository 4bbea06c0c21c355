"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Icon } from "@/components/Icon";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { formatDateTime } from "@/lib/format";

/** A release's checklist for one environment: manual items ticked with a note or link, automatic ones showing CI's evidence. */
export function Checklist({
  releaseId,
  environmentId,
  canTick,
}: {
  releaseId: string;
  environmentId: string;
  canTick: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const items = useQuery(trpc.checklist.get.queryOptions({ releaseId, environmentId }));
  const tick = useMutation(
    trpc.checklist.tick.mutationOptions({
      onSuccess: () =>
        void queryClient.invalidateQueries({ queryKey: trpc.checklist.get.queryKey({ releaseId, environmentId }) }),
    }),
  );
  const [notes, setNotes] = useState<Record<string, string>>({});

  if (items.error) return <Notice kind="error">{errorMessage(items.error)}</Notice>;
  if (!items.data) return <p className="muted">Loading…</p>;
  if (items.data.length === 0) return <p className="muted">This environment has no checklist.</p>;
  const remaining = items.data.filter((i) => i.required && !i.done).length;
  return (
    <>
      {tick.error && <Notice kind="error">{errorMessage(tick.error)}</Notice>}
      <p className={remaining ? "muted" : ""} data-testid="checklist-remaining">
        {remaining
          ? `${remaining} required item${remaining === 1 ? "" : "s"} to complete`
          : "Every required item is complete."}
      </p>
      <table aria-label="Checklist">
        <tbody>
          {items.data.map((item) => {
            const evidence = item.evidence as null | {
              status: string;
              url: string | null;
              details: string | null;
              token: string;
              at: string;
            };
            return (
              <tr key={item.id} data-testid={`check-${item.key}`} data-done={item.done}>
                <td style={{ width: "2rem" }}>
                  <Icon
                    name={item.done ? "box-checked" : item.required ? "box" : "box-dashed"}
                    label={item.done ? "done" : item.required ? "to do" : "optional, to do"}
                    className={item.done ? "icon-ok" : "icon-muted"}
                  />
                </td>
                <td>
                  <strong>{item.title}</strong>
                  {!item.required && <span className="badge off">optional</span>}
                  <div className="muted" style={{ fontSize: "0.8rem" }}>
                    {item.kind === "automatic" ? "posted by CI" : "ticked by a person"}
                  </div>
                </td>
                <td>
                  {item.kind === "automatic" ? (
                    evidence ? (
                      <span>
                        CI ({evidence.token}): <strong>{evidence.status}</strong>{" "}
                        {evidence.url && <a href={evidence.url}>run</a>} {evidence.details ?? ""}{" "}
                        <span className="muted">{formatDateTime(evidence.at)}</span>
                      </span>
                    ) : (
                      <span className="muted">
                        waiting for CI: POST /api/v1/releases/{releaseId}/evidence {`{"item":"${item.key}"}`}
                      </span>
                    )
                  ) : item.done ? (
                    <span>
                      {item.completedBy?.name ?? "someone"}: {item.note ?? ""}{" "}
                      {item.link && <a href={item.link}>link</a>}{" "}
                      {item.completedAt && <span className="muted">{formatDateTime(item.completedAt)}</span>}
                    </span>
                  ) : null}
                </td>
                <td style={{ whiteSpace: "nowrap" }}>
                  {canTick && item.kind === "manual" && !item.done && (
                    <>
                      <input
                        aria-label={`Note for ${item.title}`}
                        placeholder="note or https:// link"
                        value={notes[item.key] ?? ""}
                        onChange={(e) => setNotes({ ...notes, [item.key]: e.target.value })}
                      />{" "}
                      <button
                        type="button"
                        disabled={tick.isPending}
                        onClick={() => {
                          const value = (notes[item.key] ?? "").trim();
                          const isLink = /^https?:\/\//.test(value);
                          tick.mutate({
                            releaseId,
                            environmentId,
                            key: item.key,
                            done: true,
                            note: isLink ? undefined : value || undefined,
                            link: isLink ? value : undefined,
                          });
                        }}
                      >
                        Tick
                      </button>
                    </>
                  )}
                  {canTick && item.kind === "manual" && item.done && (
                    <button
                      type="button"
                      disabled={tick.isPending}
                      onClick={() => tick.mutate({ releaseId, environmentId, key: item.key, done: false })}
                    >
                      Untick
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
