"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../../_lib/trpc";

type Item = { key: string; title: string; kind: "manual" | "automatic"; required: boolean };

/** An environment's checklist template; each release gets its own copy of these items. */
export function ChecklistTemplate({ environmentId, canEdit }: { environmentId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const template = useQuery(trpc.checklist.template.queryOptions({ environmentId }));
  const [items, setItems] = useState<Item[]>([]);
  const save = useMutation(
    trpc.checklist.updateTemplate.mutationOptions({
      onSuccess: () =>
        void queryClient.invalidateQueries({ queryKey: trpc.checklist.template.queryKey({ environmentId }) }),
    }),
  );
  useEffect(() => {
    // The editable copy starts from the saved template each time it (re)loads.
    if (template.data)
      // eslint-disable-next-line react-hooks/set-state-in-effect -- a form seeded from a query, reset when the query's data changes
      setItems(
        template.data.map((t) => ({ key: t.key, title: t.title, kind: t.kind as Item["kind"], required: t.required })),
      );
  }, [template.data]);
  const set = (index: number, change: Partial<Item>) =>
    setItems(items.map((item, i) => (i === index ? { ...item, ...change } : item)));

  return (
    <section aria-label="Checklist template">
      <h3>Checklist template</h3>
      {save.isSuccess && <Notice kind="ok">Template saved.</Notice>}
      {save.error && <Notice kind="error">{errorMessage(save.error)}</Notice>}
      {items.length === 0 && <p className="muted">No checklist for this environment.</p>}
      <table>
        <tbody>
          {items.map((item, i) => (
            <tr key={i}>
              <td>
                <input
                  aria-label="Key"
                  value={item.key}
                  onChange={(e) => set(i, { key: e.target.value })}
                  disabled={!canEdit}
                  style={{ width: "11rem" }}
                  className="mono"
                />
              </td>
              <td style={{ width: "100%" }}>
                <input
                  aria-label="Title"
                  value={item.title}
                  onChange={(e) => set(i, { title: e.target.value })}
                  disabled={!canEdit}
                  style={{ width: "100%" }}
                />
              </td>
              <td>
                <select
                  aria-label="Kind"
                  value={item.kind}
                  onChange={(e) => set(i, { kind: e.target.value as Item["kind"] })}
                  disabled={!canEdit}
                >
                  <option value="manual">manual</option>
                  <option value="automatic">automatic (CI)</option>
                </select>
              </td>
              <td style={{ whiteSpace: "nowrap" }}>
                <label style={{ color: "inherit" }}>
                  <input
                    type="checkbox"
                    checked={item.required}
                    onChange={(e) => set(i, { required: e.target.checked })}
                    disabled={!canEdit}
                  />{" "}
                  required
                </label>
              </td>
              <td>
                {canEdit && (
                  <button type="button" onClick={() => setItems(items.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && (
        <div className="controls" style={{ marginTop: "0.5rem" }}>
          <button
            type="button"
            onClick={() => setItems([...items, { key: "", title: "", kind: "manual", required: true }])}
          >
            Add item
          </button>
          <button
            type="button"
            className="primary"
            disabled={save.isPending}
            onClick={() => save.mutate({ environmentId, items })}
          >
            Save template
          </button>
        </div>
      )}
    </section>
  );
}
