"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import { RRule } from "rrule";
import { DataTable, dataTableColumns } from "@/components/DataTable";
import { Notice } from "@/components/Notice";
import { formatCount } from "@/lib/format";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import type { MaintenanceCan } from "./permissions";
import { COMMON_ZONES, viewerZone } from "./time";
import type { ServiceSummary, WindowRule } from "./types";
import { ServiceSelect } from "@/components/ServiceSelect";

const PRESETS = [
  { label: "Monthly, second Sunday", rrule: "FREQ=MONTHLY;BYDAY=+2SU" },
  { label: "Weekly, Sunday", rrule: "FREQ=WEEKLY;BYDAY=SU" },
  { label: "Daily", rrule: "FREQ=DAILY" },
] as const;

interface RuleFields {
  name: string;
  timezone: string;
  rrule: string;
  startTime: string;
  durationMinutes: string;
  serviceId: string;
}

const fieldsOf = (rule: WindowRule): RuleFields => ({
  name: rule.name,
  timezone: rule.timezone,
  rrule: rule.rrule,
  startTime: rule.startTime,
  durationMinutes: String(rule.durationMinutes),
  serviceId: rule.serviceId ?? "",
});

/** The rule as the server takes it; the server validates (and names the field that is wrong). */
const ruleInput = (f: RuleFields) => ({
  name: f.name,
  timezone: f.timezone,
  rrule: f.rrule,
  startTime: f.startTime,
  durationMinutes: f.durationMinutes.trim() === "" ? Number.NaN : Number(f.durationMinutes),
  serviceId: f.serviceId || null,
});

/** "every month on the 2nd Sunday", or null when the text is not a recurrence rule. */
function describeRecurrence(rrule: string): string | null {
  try {
    const options = RRule.parseString(rrule.replace(/^RRULE:/i, ""));
    if (options.freq === undefined) return null;
    return new RRule(options).toText();
  } catch {
    return null;
  }
}

export function WindowRules({ can, services }: { can: MaintenanceCan; services: ServiceSummary[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rules = useQuery(trpc.maintenance.rules.queryOptions());
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.maintenance.rules.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.maintenance.windows.pathKey() }),
    ]);
  const [editing, setEditing] = useState<WindowRule | null>(null);
  const formRef = useRef<HTMLDivElement>(null);
  const toggle = useMutation(trpc.maintenance.updateRule.mutationOptions({ onSettled: () => void refresh() }));
  const remove = useMutation(
    trpc.maintenance.deleteRule.mutationOptions({
      onSuccess: (result) => editing?.id === result.id && setEditing(null),
      onSettled: () => void refresh(),
    }),
  );
  const onEdit = useCallback((rule: WindowRule) => {
    setEditing(rule);
    requestAnimationFrame(() => formRef.current?.scrollIntoView({ block: "nearest", behavior: "smooth" }));
  }, []);
  const { mutate: toggleRule } = toggle;
  const { mutate: removeRule } = remove;
  const rowError = toggle.error ?? remove.error;
  const admin = can.manageRules || can.updateRules || can.deleteRules;

  return (
    <>
      {rules.error && <Notice kind="error">{errorMessage(rules.error)}</Notice>}
      {rowError && <Notice kind="error">{errorMessage(rowError)}</Notice>}
      {rules.data && rules.data.length === 0 && (
        <p className="muted">
          No window rules: changes that need a window cannot reach production until an administrator adds one.
        </p>
      )}
      {rules.data && rules.data.length > 0 && (
        <RuleTable
          rules={rules.data}
          can={can}
          services={services}
          toggling={toggle.isPending}
          removing={remove.isPending}
          onEdit={onEdit}
          onToggle={toggleRule}
          onDelete={removeRule}
        />
      )}
      {!admin && <p className="muted mx-small">Administrators keep the window rules.</p>}
      <div ref={formRef}>
        {editing && can.updateRules && (
          <RuleForm
            key={editing.id}
            rule={editing}
            services={services}
            onDone={() => {
              setEditing(null);
              void refresh();
            }}
            onCancel={() => setEditing(null)}
          />
        )}
        {!editing && can.manageRules && (
          <RuleForm key="new" rule={null} services={services} onDone={() => void refresh()} />
        )}
      </div>
    </>
  );
}

/** The rules, oldest first until a column is sorted; an administrator's controls on each. */
function RuleTable({
  rules,
  can,
  services,
  toggling,
  removing,
  onEdit,
  onToggle,
  onDelete,
}: {
  rules: WindowRule[];
  can: MaintenanceCan;
  services: ServiceSummary[];
  toggling: boolean;
  removing: boolean;
  onEdit: (rule: WindowRule) => void;
  onToggle: (input: { id: string; rule: ReturnType<typeof ruleInput>; active: boolean }) => void;
  onDelete: (input: { id: string }) => void;
}) {
  const admin = can.manageRules || can.updateRules || can.deleteRules;
  const columns = useMemo(() => {
    const column = dataTableColumns<WindowRule>();
    const serviceName = (id: string | null) =>
      id ? (services.find((s) => s.id === id)?.name ?? "a service") : "All services";
    return [
      column.accessor("name", {
        header: "Name",
        sortFn: "text",
        meta: { searchable: true },
        cell: (info) => <strong>{info.getValue()}</strong>,
      }),
      column.accessor("timezone", { header: "Time zone", sortFn: "text", meta: { searchable: true } }),
      column.accessor("rrule", {
        header: "Recurrence",
        sortFn: "text",
        cell: (info) => (
          <>
            <code>{info.getValue()}</code>
            <div className="muted">{describeRecurrence(info.getValue())}</div>
          </>
        ),
      }),
      // "HH:MM" on a 24-hour clock: as text, in order.
      column.accessor("startTime", { header: "Start", sortFn: "text" }),
      column.accessor("durationMinutes", {
        header: "Duration",
        sortFn: "basic",
        cell: (info) => `${formatCount(info.getValue())} min`,
      }),
      column.accessor((rule) => serviceName(rule.serviceId), {
        id: "service",
        header: "Service",
        sortFn: "text",
        meta: { searchable: true },
      }),
      column.accessor((rule) => (rule.active ? "active" : "inactive"), {
        id: "status",
        header: "Status",
        sortFn: "text",
        cell: (info) => (
          <span className={`status status-${info.row.original.active ? "ok" : "off"}`}>{info.getValue()}</span>
        ),
      }),
      ...(admin
        ? [
            column.display({
              id: "actions",
              header: "",
              cell: (info) => {
                const rule = info.row.original;
                return (
                  <div className="mx-nowrap">
                    <div className="controls">
                      {can.updateRules && (
                        <button type="button" onClick={() => onEdit(rule)}>
                          Edit
                        </button>
                      )}
                      {can.updateRules && (
                        <button
                          type="button"
                          disabled={toggling}
                          onClick={() =>
                            onToggle({ id: rule.id, rule: ruleInput(fieldsOf(rule)), active: !rule.active })
                          }
                        >
                          {rule.active ? "Deactivate" : "Activate"}
                        </button>
                      )}
                      {can.deleteRules && (
                        <button
                          type="button"
                          className="danger"
                          disabled={removing}
                          onClick={() =>
                            confirm(`Delete the window rule "${rule.name}"? Its pending notices are dropped.`) &&
                            onDelete({ id: rule.id })
                          }
                        >
                          Delete
                        </button>
                      )}
                    </div>
                  </div>
                );
              },
            }),
          ]
        : []),
    ];
  }, [admin, can.updateRules, can.deleteRules, services, toggling, removing, onEdit, onToggle, onDelete]);

  return (
    <DataTable
      label="Window rules"
      urlPrefix="rules-"
      testId="window-rules"
      data={rules}
      columns={columns}
      getRowId={(rule) => rule.id}
      rowProps={(rule) => ({ "data-testid": `rule-${rule.name}`, className: rule.active ? undefined : "mx-inactive" })}
    />
  );
}

function RuleForm({
  rule,
  services,
  onDone,
  onCancel,
}: {
  rule: WindowRule | null;
  services: ServiceSummary[];
  onDone: () => void;
  onCancel?: () => void;
}) {
  const trpc = useTRPC();
  const id = useId();
  // The viewer's zone is known in the browser only: it is filled in after hydration.
  const [zone, setZone] = useState<string | null>(null);
  const blank: RuleFields = {
    name: "",
    timezone: zone ?? "",
    rrule: PRESETS[0].rrule,
    startTime: "02:00",
    durationMinutes: "60",
    serviceId: "",
  };
  const [fields, setFields] = useState<RuleFields>(rule ? fieldsOf(rule) : blank);
  const set = (change: Partial<RuleFields>) => setFields((f) => ({ ...f, ...change }));
  useEffect(() => {
    // The viewer's time zone is known only in the browser, after hydration (the server renders without it).
    const own = viewerZone();
    // eslint-disable-next-line react-hooks/set-state-in-effect -- see above: reading it during render would mismatch the server's HTML
    setZone(own);
    setFields((f) => (f.timezone ? f : { ...f, timezone: own }));
  }, []);
  const create = useMutation(trpc.maintenance.createRule.mutationOptions());
  const update = useMutation(trpc.maintenance.updateRule.mutationOptions());
  const mutation = rule ? update : create;
  const [added, setAdded] = useState<string | null>(null);
  const preset = PRESETS.find((p) => p.rrule === fields.rrule.trim().replace(/^RRULE:/i, ""))?.rrule ?? "";
  const recurrence = describeRecurrence(fields.rrule);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setAdded(null);
    if (rule) update.mutate({ id: rule.id, rule: ruleInput(fields), active: rule.active }, { onSuccess: onDone });
    else
      create.mutate(ruleInput(fields), {
        onSuccess: (created) => {
          setAdded(created.name);
          setFields(blank);
          onDone();
        },
      });
  }

  const title = rule ? `Edit window rule "${rule.name}"` : "Add a window rule";
  return (
    <form
      className="card mx-rule-form"
      onSubmit={onSubmit}
      aria-label={rule ? "Edit window rule" : "Add a window rule"}
    >
      <h3>{title}</h3>
      {added && <Notice kind="ok">Added “{added}”.</Notice>}
      {mutation.error && <Notice kind="error">{errorMessage(mutation.error)}</Notice>}
      <div className="row">
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            value={fields.name}
            onChange={(e) => set({ name: e.target.value })}
            required
            maxLength={80}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-tz`}>Time zone</label>
          <input
            id={`${id}-tz`}
            list={`${id}-zones`}
            value={fields.timezone}
            onChange={(e) => set({ timezone: e.target.value })}
            placeholder="America/New_York"
            spellCheck={false}
          />
          <datalist id={`${id}-zones`}>
            {[...new Set([...(zone ? [zone] : []), ...COMMON_ZONES])].map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
        <ServiceSelect
          id={`${id}-service`}
          services={services}
          value={fields.serviceId}
          onChange={(serviceId) => set({ serviceId })}
          emptyLabel="All services"
        />
      </div>
      <div className="row">
        <div className="field">
          <label htmlFor={`${id}-preset`}>Preset</label>
          <select id={`${id}-preset`} value={preset} onChange={(e) => e.target.value && set({ rrule: e.target.value })}>
            <option value="">Custom</option>
            {PRESETS.map((p) => (
              <option key={p.rrule} value={p.rrule}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field mx-grow">
          <label htmlFor={`${id}-rrule`}>Recurrence (RRULE)</label>
          <input
            id={`${id}-rrule`}
            className="mono"
            value={fields.rrule}
            onChange={(e) => set({ rrule: e.target.value })}
            spellCheck={false}
            placeholder="FREQ=MONTHLY;BYDAY=+2SU"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-start`}>Start time (HH:MM)</label>
          <input
            id={`${id}-start`}
            type="time"
            value={fields.startTime}
            onChange={(e) => set({ startTime: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-duration`}>Duration (minutes, at most 120)</label>
          <input
            id={`${id}-duration`}
            type="number"
            step={1}
            inputMode="numeric"
            value={fields.durationMinutes}
            onChange={(e) => set({ durationMinutes: e.target.value })}
          />
        </div>
      </div>
      <p className="muted mx-small" data-testid="recurrence-preview">
        {recurrence
          ? `Recurs ${recurrence}, at ${fields.startTime || "…"} ${fields.timezone || "…"}.`
          : "Not a recurrence rule yet (e.g. FREQ=WEEKLY;BYDAY=SU)."}
      </p>
      <div className="controls">
        <button className="primary" type="submit" disabled={mutation.isPending}>
          {rule ? "Save rule" : "Add window rule"}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
