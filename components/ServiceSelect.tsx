/** The "Service" field of a form: a labelled select over the services, with an empty first choice. */
export function ServiceSelect({
  id,
  name,
  services,
  value,
  onChange,
  emptyLabel,
  required,
}: {
  id: string;
  name?: string;
  services: readonly { id: string; name: string }[] | undefined;
  value: string;
  onChange: (serviceId: string) => void;
  /** What the empty choice says ("All services", "Any service", "Choose…"). */
  emptyLabel: string;
  required?: boolean;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>Service</label>
      <select id={id} name={name} value={value} onChange={(e) => onChange(e.target.value)} required={required}>
        <option value="">{emptyLabel}</option>
        {(services ?? []).map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </select>
    </div>
  );
}
