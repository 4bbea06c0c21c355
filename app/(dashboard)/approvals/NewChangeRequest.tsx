"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import { ServiceSelect } from "@/components/ServiceSelect";
import { formText } from "../../../lib/form-text";

const TYPES = [
  ["standard", "Standard — one approver"],
  ["user_facing", "User-facing — approver and business stakeholder"],
  ["infrastructure", "Infrastructure — approver and security reviewer (in a window)"],
  ["major", "Major — approver and a performance impact assessment (in a window)"],
] as const;

export function NewChangeRequest({ onCreated }: { onCreated: (id: string) => void }) {
  const trpc = useTRPC();
  const services = useQuery(trpc.services.list.queryOptions());
  const [serviceId, setServiceId] = useState("");
  const service = useQuery({ ...trpc.services.get.queryOptions({ id: serviceId }), enabled: Boolean(serviceId) });
  const [type, setType] = useState<(typeof TYPES)[number][0]>("standard");
  const create = useMutation(trpc.changes.create.mutationOptions({ onSuccess: (c) => onCreated(c.id) }));
  const production = service.data?.environments.filter((e) => e.production) ?? [];

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    const assessment = formText(f, "performanceAssessment").trim();
    create.mutate({
      releaseId: formText(f, "releaseId"),
      environmentId: formText(f, "environmentId"),
      type,
      title: formText(f, "title"),
      description: formText(f, "description"),
      performanceAssessment: assessment || undefined,
    });
  }

  return (
    <form className="card" onSubmit={onSubmit} aria-label="Request a change" style={{ marginBottom: "1rem" }}>
      {create.error && <Notice kind="error">{errorMessage(create.error)}</Notice>}
      <div className="row">
        <ServiceSelect
          id="cr-service"
          services={services.data}
          value={serviceId}
          onChange={setServiceId}
          emptyLabel="Choose…"
          required
        />
        <div className="field">
          <label htmlFor="cr-release">Release</label>
          <select id="cr-release" name="releaseId" required>
            {service.data?.releases.map((r) => (
              <option key={r.id} value={r.id}>
                {r.version}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="cr-environment">Production environment</label>
          <select id="cr-environment" name="environmentId" required>
            {production.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="cr-type">Change type</label>
          <select id="cr-type" value={type} onChange={(e) => setType(e.target.value as typeof type)}>
            {TYPES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor="cr-title">Title</label>
        <input id="cr-title" name="title" required style={{ width: "100%" }} />
      </div>
      <div className="field">
        <label htmlFor="cr-description">Description</label>
        <textarea id="cr-description" name="description" rows={3} style={{ width: "100%" }} />
      </div>
      {type === "major" && (
        <div className="field">
          <label htmlFor="cr-assessment">Performance impact assessment</label>
          <textarea
            id="cr-assessment"
            name="performanceAssessment"
            rows={3}
            style={{ width: "100%" }}
            placeholder="Expected effect on latency, throughput and cost, and how it was measured"
          />
        </div>
      )}
      <button className="primary" type="submit" disabled={create.isPending}>
        Request approval
      </button>
    </form>
  );
}
