"use client";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import type { Policy } from "@/server/releases/policy";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import type { Permissions } from "./permissions";
import { formText } from "../../../../lib/form-text";

interface EnvironmentForSettings {
  id: string;
  name: string;
  policy: Policy;
  alertThresholds: { errorRatePercent: number; p95Ms: number };
  rollbackHooks: { name: string; kind: string; target: string }[];
}

/** The deployment policy, alert thresholds and rollback hooks of one environment. */
export function EnvironmentSettings({
  environment,
  can,
  onSaved,
}: {
  environment: EnvironmentForSettings;
  can: Permissions;
  onSaved: () => void;
}) {
  const trpc = useTRPC();
  const [saved, setSaved] = useState<string | null>(null);
  const done = (what: string) => () => {
    setSaved(what);
    onSaved();
  };
  const policy = useMutation(trpc.environments.updatePolicy.mutationOptions({ onSuccess: done("Policy saved") }));
  const thresholds = useMutation(
    trpc.environments.updateAlertThresholds.mutationOptions({ onSuccess: done("Alert thresholds saved") }),
  );
  const hooks = useMutation(
    trpc.environments.setRollbackHooks.mutationOptions({ onSuccess: done("Rollback hooks saved") }),
  );
  const [jsonError, setJsonError] = useState<string | null>(null);
  // Number boxes left empty at the last submit: refused in the browser, named, and marked aria-invalid.
  const [empty, setEmpty] = useState<{ names: Set<string>; message: string } | null>(null);
  const p = environment.policy;

  /** Starts a submit: earlier banners go; returns the labels of required number boxes left empty. */
  function emptyRequired(form: HTMLFormElement): string[] {
    setSaved(null);
    setJsonError(null);
    policy.reset();
    thresholds.reset();
    hooks.reset();
    const inputs = [...form.querySelectorAll<HTMLInputElement>("input[data-required-number]")].filter(
      (input) => input.value.trim() === "",
    );
    const names = inputs.map((input) => input.name);
    const labels = inputs.map((input) => input.labels?.[0]?.textContent ?? input.name);
    setEmpty(
      names.length
        ? {
            names: new Set(names),
            message: `${labels.join(", ")}: ${names.length === 1 ? "is empty; enter a number" : "are empty; enter a number in each"}.`,
          }
        : null,
    );
    inputs[0]?.focus();
    return names;
  }

  function onPolicy(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // An empty box is not 0: it is refused here, naming the field.
    if (emptyRequired(event.currentTarget).length) return;
    const f = new FormData(event.currentTarget);
    const n = (name: string) => (formText(f, name).trim() === "" ? Number.NaN : Number(f.get(name)));
    const optional = (name: string) => (formText(f, name).trim() === "" ? null : Number(f.get(name)));
    let smokeTests: unknown;
    try {
      smokeTests = JSON.parse(formText(f, "smokeTests"));
      setJsonError(null);
    } catch {
      setJsonError("Smoke tests: is not valid JSON");
      return;
    }
    policy.mutate({
      environmentId: environment.id,
      policy: {
        steps: formText(f, "steps")
          .split(/[,\s→>]+/)
          .filter(Boolean)
          .map(Number),
        bakeSeconds: n("bakeSeconds"),
        validationSeconds: n("validationSeconds"),
        scaleDownDelaySeconds: n("scaleDownDelaySeconds"),
        greenReadyTimeoutSeconds: n("greenReadyTimeoutSeconds"),
        gates: {
          confidencePercent: n("confidencePercent"),
          minRequests: n("minRequests"),
          errorRate: { marginPp: n("errorMarginPp"), maxPercent: n("errorMaxPercent") },
          latency: {
            marginPercent: n("latencyMarginPercent"),
            marginMs: n("latencyMarginMs"),
            maxP95Ms: n("maxP95Ms"),
          },
          failureLimit: n("failureLimit"),
          consecutiveFailureLimit: optional("consecutiveFailureLimit"),
        },
        smokeTests: smokeTests as Policy["smokeTests"],
      },
    });
  }

  function onThresholds(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (emptyRequired(event.currentTarget).length) return;
    const f = new FormData(event.currentTarget);
    thresholds.mutate({
      environmentId: environment.id,
      thresholds: { errorRatePercent: Number(f.get("errorRatePercent")), p95Ms: Number(f.get("p95Ms")) },
    });
  }

  function onHooks(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    emptyRequired(event.currentTarget);
    const f = new FormData(event.currentTarget);
    try {
      const parsed: unknown = JSON.parse(formText(f, "hooks"));
      setJsonError(null);
      // The server validates what was typed and names the field that is wrong; the page does not second-guess it.
      hooks.mutate({ environmentId: environment.id, hooks: parsed as Parameters<typeof hooks.mutate>[0]["hooks"] });
    } catch {
      setJsonError("Hooks: is not valid JSON");
    }
  }

  const error =
    empty?.message ??
    jsonError ??
    (policy.error
      ? errorMessage(policy.error)
      : thresholds.error
        ? errorMessage(thresholds.error)
        : hooks.error
          ? errorMessage(hooks.error)
          : null);
  const field = (name: string, label: string, value: number | null, width = "7rem", hint?: string, required = true) => (
    <div className="field">
      <label htmlFor={`${environment.id}-${name}`}>{label}</label>
      <input
        id={`${environment.id}-${name}`}
        name={name}
        type="number"
        step="any"
        defaultValue={value ?? ""}
        disabled={!can.editPolicy}
        style={{ width }}
        data-required-number={required ? "" : undefined}
        aria-invalid={empty?.names.has(name) ? true : undefined}
        aria-describedby={hint ? `${environment.id}-${name}-hint` : undefined}
      />
      {hint && (
        <small id={`${environment.id}-${name}-hint`} className="muted field-hint">
          {hint}
        </small>
      )}
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
            <input
              id={`${environment.id}-steps`}
              name="steps"
              defaultValue={p.steps.join(", ")}
              disabled={!can.editPolicy}
            />
          </div>
          {field("bakeSeconds", "Bake per step (s)", p.bakeSeconds)}
          {field("validationSeconds", "Validation (s)", p.validationSeconds)}
          {field("scaleDownDelaySeconds", "Scale-down delay (s)", p.scaleDownDelaySeconds)}
          {field("greenReadyTimeoutSeconds", "Ready timeout (s)", p.greenReadyTimeoutSeconds)}
        </div>
        <h4>Gates: how each step judges the new release against the live slot</h4>
        <div className="row gate-fields">
          {field(
            "confidencePercent",
            "Confidence (%)",
            p.gates.confidencePercent,
            "7rem",
            "How sure the judge must be before it fails a step. At 99 %, at most 1 healthy release in 100 is rolled back by chance.",
          )}
          {field(
            "errorMarginPp",
            "Error-rate margin over live (pp)",
            p.gates.errorRate.marginPp,
            "7rem",
            "The new release may fail this many percentage points more often than the live slot before it counts as worse.",
          )}
          {field(
            "errorMaxPercent",
            "Error-rate ceiling (%)",
            p.gates.errorRate.maxPercent,
            "7rem",
            "Hard limit: fails at once when the new release surely fails more than this, whatever live does.",
          )}
          {field(
            "latencyMarginPercent",
            "Latency margin over live (%)",
            p.gates.latency.marginPercent,
            "7rem",
            "The new release may be this much slower than live (a share of live's latency) …",
          )}
          {field(
            "latencyMarginMs",
            "… plus (ms)",
            p.gates.latency.marginMs,
            "7rem",
            "… plus this many milliseconds, before it counts as slower.",
          )}
          {field(
            "maxP95Ms",
            "p95 ceiling (ms)",
            p.gates.latency.maxP95Ms,
            "7rem",
            "Hard limit: fails when more than 5 % of requests are surely slower than this.",
          )}
          {field(
            "minRequests",
            "Requests needed to pass",
            p.gates.minRequests,
            "7rem",
            "A step passes only once the new release has served this many requests; failing needs none.",
          )}
          {field(
            "failureLimit",
            "Failures allowed",
            p.gates.failureLimit,
            "7rem",
            "Failed measurements (at most one a second) a step tolerates before it rolls back; 1 rolls back at the first.",
          )}
          {field(
            "consecutiveFailureLimit",
            "Failures in a row",
            p.gates.consecutiveFailureLimit,
            "7rem",
            "Roll back after this many failed measurements in a row, whatever the above says. Empty: no such limit.",
            false,
          )}
        </div>
        <div className="field">
          <label htmlFor={`${environment.id}-smoke`}>Smoke tests (JSON)</label>
          <textarea
            id={`${environment.id}-smoke`}
            name="smokeTests"
            rows={8}
            style={{ width: "100%" }}
            className="mono"
            defaultValue={JSON.stringify(p.smokeTests, null, 2)}
            disabled={!can.editPolicy}
          />
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
            <input
              id={`${environment.id}-alert-err`}
              name="errorRatePercent"
              type="number"
              step="any"
              defaultValue={environment.alertThresholds.errorRatePercent}
              disabled={!can.editThresholds}
              data-required-number=""
              aria-invalid={empty?.names.has("errorRatePercent") ? true : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor={`${environment.id}-alert-p95`}>p95 latency (ms)</label>
            <input
              id={`${environment.id}-alert-p95`}
              name="p95Ms"
              type="number"
              step="any"
              defaultValue={environment.alertThresholds.p95Ms}
              disabled={!can.editThresholds}
              data-required-number=""
              aria-invalid={empty?.names.has("p95Ms") ? true : undefined}
            />
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
        <p className="muted">
          None. Administrators can add a webhook or a Redis cache flush that runs after every rollback.
        </p>
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
              defaultValue={
                '[\n  { "kind": "webhook", "name": "Notify", "url": "https://hooks.example.com/rollback" },\n  { "kind": "redis_flush", "name": "Clear cache", "url": "redis://cache:6379", "database": 1 }\n]'
              }
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
