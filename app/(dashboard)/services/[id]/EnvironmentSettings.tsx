"use client";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import type { Policy } from "@/server/releases/policy";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import type { Permissions } from "./ServiceView";

interface EnvironmentForSettings {
  id: string;
  name: string;
  policy: Policy;
  alertThresholds: { errorRatePercent: number; p95Ms: number };
  rollbackHooks: { name: string; kind: string; target: string }[];
}

/** The deployment policy, alert thresholds and rollback hooks of one environment. */
export function EnvironmentSettings({ environment, can, onSaved }: { environment: EnvironmentForSettings; can: Permissions; onSaved: () => void }) {
  const trpc = useTRPC();
  const [saved, setSaved] = useState<string | null>(null);
  const done = (what: string) => () => {
    setSaved(what);
    onSaved();
  };
  const policy = useMutation(trpc.environments.updatePolicy.mutationOptions({ onSuccess: done("Policy saved") }));
  const thresholds = useMutation(trpc.environments.updateAlertThresholds.mutationOptions({ onSuccess: done("Alert thresholds saved") }));
  const hooks = useMutation(trpc.environments.setRollbackHooks.mutationOptions({ onSuccess: done("Rollback hooks saved") }));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const p = environment.policy;

  function onPolicy(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    const n = (name: string) => Number(f.get(name));
    let smokeTests: unknown;
    try {
      smokeTests = JSON.parse(String(f.get("smokeTests")));
      setJsonError(null);
    } catch {
      setJsonError("smokeTests: is not valid JSON");
      return;
    }
    policy.mutate({
      environmentId: environment.id,
      policy: {
        steps: String(f.get("steps"))
          .split(/[,\s→>]+/)
          .filter(Boolean)
          .map(Number),
        bakeSeconds: n("bakeSeconds"),
        validationSeconds: n("validationSeconds"),
        scaleDownDelaySeconds: n("scaleDownDelaySeconds"),
        greenReadyTimeoutSeconds: n("greenReadyTimeoutSeconds"),
        gates: { maxErrorRateIncreasePp: n("maxErrorRateIncreasePp"), maxErrorRatePercent: n("maxErrorRatePercent"), maxP95Ms: n("maxP95Ms"), minRequests: n("minRequests") },
        smokeTests: smokeTests as Policy["smokeTests"],
      },
    });
  }

  function onThresholds(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    thresholds.mutate({ environmentId: environment.id, thresholds: { errorRatePercent: Number(f.get("errorRatePercent")), p95Ms: Number(f.get("p95Ms")) } });
  }

  function onHooks(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    try {
      const parsed = JSON.parse(String(f.get("hooks")));
      setJsonError(null);
      hooks.mutate({ environmentId: environment.id, hooks: parsed });
    } catch {
      setJsonError("hooks: is not valid JSON");
    }
  }

  const error = jsonError ?? (policy.error ? errorMessage(policy.error) : thresholds.error ? errorMessage(thresholds.error) : hooks.error ? errorMessage(hooks.error) : null);
  const field = (name: string, label: string, value: number, width = "7rem") => (
    <div className="field">
      <label htmlFor={`${environment.id}-${name}`}>{label}</label>
      <input id={`${environment.id}-${name}`} name={name} type="number" step="any" defaultValue={value} disabled={!can.editPolicy} style={{ width }} />
    </div>
  );

  return (
    <section className="card" style={{ marginTop: "1rem" }} aria-label={`Settings of ${environment.name}`}>
      <h2 style={{ marginTop: 0 }}>{environment.name}: settings</h2>
      {saved && !error && <Notice kind="ok">{saved}.</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <form onSubmit={onPolicy} aria-label="Deployment policy">
        <h3>Deployment policy</h3>
        <div className="row">
          <div className="field">
            <label htmlFor={`${environment.id}-steps`}>Traffic steps (%)</label>
            <input id={`${environment.id}-steps`} name="steps" defaultValue={p.steps.join(", ")} disabled={!can.editPolicy} />
          </div>
          {field("bakeSeconds", "Bake per step (s)", p.bakeSeconds)}
          {field("validationSeconds", "Validation (s)", p.validationSeconds)}
          {field("scaleDownDelaySeconds", "Scale-down delay (s)", p.scaleDownDelaySeconds)}
          {field("greenReadyTimeoutSeconds", "Ready timeout (s)", p.greenReadyTimeoutSeconds)}
        </div>
        <div className="row">
          {field("maxErrorRateIncreasePp", "Max error rate above live (pp)", p.gates.maxErrorRateIncreasePp, "9rem")}
          {field("maxErrorRatePercent", "Max error rate (%)", p.gates.maxErrorRatePercent)}
          {field("maxP95Ms", "Max p95 (ms)", p.gates.maxP95Ms)}
          {field("minRequests", "Min requests per step", p.gates.minRequests)}
        </div>
        <div className="field">
          <label htmlFor={`${environment.id}-smoke`}>Smoke tests (JSON)</label>
          <textarea id={`${environment.id}-smoke`} name="smokeTests" rows={8} style={{ width: "100%" }} className="mono" defaultValue={JSON.stringify(p.smokeTests, null, 2)} disabled={!can.editPolicy} />
        </div>
        {can.editPolicy && (
          <button type="submit" className="primary" disabled={policy.isPending}>
            Save policy
          </button>
        )}
      </form>

      <form onSubmit={onThresholds} aria-label="Alert thresholds">
        <h3>Critical alert thresholds (live traffic, last 30 s)</h3>
        <div className="row">
          <div className="field">
            <label htmlFor={`${environment.id}-alert-err`}>Error rate (%)</label>
            <input id={`${environment.id}-alert-err`} name="errorRatePercent" type="number" step="any" defaultValue={environment.alertThresholds.errorRatePercent} disabled={!can.editThresholds} />
          </div>
          <div className="field">
            <label htmlFor={`${environment.id}-alert-p95`}>p95 latency (ms)</label>
            <input id={`${environment.id}-alert-p95`} name="p95Ms" type="number" step="any" defaultValue={environment.alertThresholds.p95Ms} disabled={!can.editThresholds} />
          </div>
          {can.editThresholds && (
            <div className="field">
              <button type="submit" disabled={thresholds.isPending}>
                Save thresholds
              </button>
            </div>
          )}
        </div>
      </form>

      <h3>Rollback hooks</h3>
      {environment.rollbackHooks.length === 0 ? (
        <p className="muted">None. Administrators can add a webhook or a Redis cache flush that runs after every rollback.</p>
      ) : (
        <ul>
          {environment.rollbackHooks.map((h) => (
            <li key={h.name}>
              {h.name}: {h.kind === "webhook" ? "call" : "flush"} <span className="mono">{h.target}</span>
            </li>
          ))}
        </ul>
      )}
      {can.hooks && (
        <form onSubmit={onHooks} aria-label="Rollback hooks">
          <div className="field">
            <label htmlFor={`${environment.id}-hooks`}>Hooks (JSON; replaces the list)</label>
            <textarea
              id={`${environment.id}-hooks`}
              name="hooks"
              rows={5}
              style={{ width: "100%" }}
              className="mono"
              defaultValue={'[\n  { "kind": "webhook", "name": "Notify", "url": "https://hooks.example.com/rollback" },\n  { "kind": "redis_flush", "name": "Clear cache", "url": "redis://cache:6379", "database": 1 }\n]'}
            />
          </div>
          <button type="submit" disabled={hooks.isPending}>
            Save hooks
          </button>
        </form>
      )}
    </section>
  );
}
