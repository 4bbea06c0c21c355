"use client";
/**
 * An environment's ECS target: the configuration form (administrators), checking it against AWS
 * before saving, and the scaling view (tasks per slot, Application Auto Scaling; read-only).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import { formText } from "../../../../lib/form-text";

interface EnvironmentForEcs {
  id: string;
  name: string;
  target: "local" | "ecs";
}

type Stored = Record<string, unknown> & {
  services?: { blue?: string; green?: string };
  targetGroups?: { blue?: string; green?: string };
  smokeTestBaseUrls?: { blue?: string; green?: string };
  listenerArns?: string[];
  listenerRuleArns?: string[];
  alarmNames?: string[];
  assumeRole?: { roleArn?: string; externalId?: string; sessionName?: string };
};

/** One ARN or name per line (or separated by commas), blanks dropped. */
const lines = (value: string) =>
  value
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);

/** Listener and rule ARNs as the configuration takes them: one of each kind singly, several as lists. */
function routeFields(arns: string[]): Record<string, unknown> {
  const rules = arns.filter((a) => a.includes(":listener-rule/"));
  const listeners = arns.filter((a) => !a.includes(":listener-rule/"));
  if (listeners.length === 1 && rules.length === 0) return { listenerArn: listeners[0] };
  if (rules.length === 1 && listeners.length === 0) return { listenerRuleArn: rules[0] };
  return {
    ...(listeners.length ? { listenerArns: listeners } : {}),
    ...(rules.length ? { listenerRuleArns: rules } : {}),
  };
}

export function EcsTargetPanel({
  environment,
  canConfigure,
}: {
  environment: EnvironmentForEcs;
  canConfigure: boolean;
}) {
  return (
    <section className="card" style={{ marginTop: "1rem" }} aria-label={`ECS target of ${environment.name}`}>
      <h2 style={{ marginTop: 0 }}>{environment.name}: AWS ECS target</h2>
      {environment.target === "ecs" && <ScalingView environmentId={environment.id} />}
      {canConfigure && <ConfigurationForm environment={environment} />}
    </section>
  );
}

function ScalingView({ environmentId }: { environmentId: string }) {
  const trpc = useTRPC();
  const scaling = useQuery({ ...trpc.targets.scaling.queryOptions({ environmentId }), refetchInterval: 10_000 });
  if (scaling.error) return <Notice kind="error">{errorMessage(scaling.error)}</Notice>;
  if (!scaling.data) return <p className="muted">Reading ECS…</p>;
  const v = scaling.data;
  return (
    <>
      <h3>Scaling</h3>
      <table aria-label="ECS services">
        <thead>
          <tr>
            <th>Slot</th>
            <th>Service</th>
            <th>Traffic</th>
            <th>Desired</th>
            <th>Running</th>
            <th>Pending</th>
            <th>Healthy</th>
            <th>State</th>
            <th>Auto Scaling</th>
          </tr>
        </thead>
        <tbody>
          {(["blue", "green"] as const).map((slot) => {
            const s = v.slots[slot];
            const a = s.autoScaling;
            return (
              <tr key={slot} data-testid={`ecs-slot-${slot}`}>
                <td>
                  {slot}
                  {v.liveSlot === slot ? " (live)" : ""}
                </td>
                <td className="mono">{s.service}</td>
                <td>{v.weights[slot]}%</td>
                <td>{s.state.desired}</td>
                <td>{s.state.running}</td>
                <td>{s.state.pending}</td>
                <td>{s.state.healthy}</td>
                <td>
                  {s.state.rollout.replace("_", " ")}
                  {s.state.detail && <div className="muted">{s.state.detail}</div>}
                </td>
                <td>
                  {a ? (
                    <>
                      min {a.min ?? "?"} · max {a.max ?? "?"}
                      {(a.suspended.scaleIn || a.suspended.scaleOut || a.suspended.scheduled) && (
                        <div className="muted">
                          suspended:{" "}
                          {[
                            a.suspended.scaleIn && "scale-in",
                            a.suspended.scaleOut && "scale-out",
                            a.suspended.scheduled && "scheduled",
                          ]
                            .filter(Boolean)
                            .join(", ")}
                        </div>
                      )}
                      {a.policies.map((p) => (
                        <div key={p.name} className="muted">
                          {p.name}:{" "}
                          {p.type === "TargetTrackingScaling"
                            ? `keep ${p.metric ?? "?"} at ${p.targetValue ?? "?"}`
                            : p.type}
                          {p.disableScaleIn ? " (no scale-in)" : ""}
                        </div>
                      ))}
                    </>
                  ) : (
                    <span className="muted">not configured</span>
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

function ConfigurationForm({ environment }: { environment: EnvironmentForEcs }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const current = useQuery(trpc.targets.config.queryOptions({ environmentId: environment.id }));
  const [saved, setSaved] = useState(false);
  const configure = useMutation(
    trpc.targets.configure.mutationOptions({
      onSuccess: () => {
        setSaved(true);
        void queryClient.invalidateQueries({
          queryKey: trpc.targets.config.queryKey({ environmentId: environment.id }),
        });
        void queryClient.invalidateQueries({
          queryKey: trpc.targets.scaling.queryKey({ environmentId: environment.id }),
        });
      },
    }),
  );
  const verify = useMutation(trpc.targets.verify.mutationOptions());

  if (current.error) return <Notice kind="error">{errorMessage(current.error)}</Notice>;
  if (!current.data) return <p className="muted">Loading…</p>;
  const stored = (current.data.config ?? {}) as Stored;
  const id = (name: string) => `${environment.id}-ecs-${name}`;

  function read(form: HTMLFormElement): Record<string, unknown> {
    const f = new FormData(form);
    const s = (name: string) => formText(f, name).trim();
    const opt = (name: string) => s(name) || undefined;
    const num = (name: string) => (s(name) === "" ? undefined : Number(s(name)));
    const blueUrl = s("smokeBlue");
    const greenUrl = s("smokeGreen");
    const alarms = lines(s("alarmNames"));
    const roleArn = s("roleArn");
    // Settings the form does not show (retry, polling, the session's length) are kept as stored.
    const {
      listenerArn: _l,
      listenerRuleArn: _r,
      listenerArns: _ls,
      listenerRuleArns: _rs,
      testListenerArn: _t,
      smokeTestBaseUrls: _u,
      alarmNames: _a,
      assumeRole,
      ...rest
    } = stored;
    return {
      ...rest,
      region: s("region"),
      cluster: s("cluster"),
      services: { blue: s("serviceBlue"), green: s("serviceGreen") },
      ...routeFields(lines(s("routeArns"))),
      ...(alarms.length ? { alarmNames: alarms } : {}),
      ...(roleArn
        ? { assumeRole: { ...assumeRole, roleArn, externalId: opt("externalId"), sessionName: opt("sessionName") } }
        : {}),
      targetGroups: { blue: s("tgBlue"), green: s("tgGreen") },
      testListenerArn: opt("testListenerArn"),
      smokeTestBaseUrls: blueUrl || greenUrl ? { blue: blueUrl, green: greenUrl } : undefined,
      containerName: s("containerName"),
      stickinessSeconds: num("stickinessSeconds"),
      steadyStateTimeoutSeconds: num("steadyStateTimeoutSeconds"),
      metricsPeriodSeconds: num("metricsPeriodSeconds"),
    };
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSaved(false);
    configure.mutate({ environmentId: environment.id, config: read(event.currentTarget) });
  }

  function onVerify(form: HTMLFormElement | null) {
    if (!form) return;
    verify.mutate({ environmentId: environment.id, config: read(form) });
  }

  const text = (name: string, label: string, value: unknown, placeholder = "", wide = true) => (
    <div className="field" style={wide ? { flex: "1 1 28rem" } : undefined}>
      <label htmlFor={id(name)}>{label}</label>
      <input
        id={id(name)}
        name={name}
        defaultValue={typeof value === "string" || typeof value === "number" ? String(value) : ""}
        placeholder={placeholder}
        className="mono"
        style={{ width: "100%" }}
      />
    </div>
  );
  const error = configure.error ?? verify.error;
  const routeArns = [
    stored.listenerArn,
    ...(stored.listenerArns ?? []),
    stored.listenerRuleArn,
    ...(stored.listenerRuleArns ?? []),
  ].filter((a): a is string => typeof a === "string");
  const area = (name: string, label: string, value: string, placeholder: string) => (
    <div className="field" style={{ flex: "1 1 28rem" }}>
      <label htmlFor={id(name)}>{label}</label>
      <textarea
        id={id(name)}
        name={name}
        defaultValue={value}
        placeholder={placeholder}
        className="mono"
        rows={Math.max(2, value.split("\n").length)}
        style={{ width: "100%" }}
      />
    </div>
  );

  return (
    <form aria-label="ECS configuration" onSubmit={onSubmit}>
      <h3>Configuration</h3>
      {current.data.problem && (
        <Notice kind="warn">The stored configuration does not validate: {current.data.problem}</Notice>
      )}
      {saved && !error && <Notice kind="ok">ECS configuration saved; {environment.name} now deploys to ECS.</Notice>}
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
      <div className="row">
        {text("region", "Region", stored.region, "eu-west-1", false)}
        {text("cluster", "Cluster (name or ARN)", stored.cluster, "shop")}
        {text("containerName", "Container", stored.containerName, "app", false)}
      </div>
      <div className="row">
        {text("serviceBlue", "Blue service", stored.services?.blue, "checkout-blue")}
        {text("serviceGreen", "Green service", stored.services?.green, "checkout-green")}
      </div>
      <div className="row">
        {area(
          "routeArns",
          "Listener and rule ARNs whose forward action splits the traffic (one per line; several shift together)",
          routeArns.join("\n"),
          "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/my-alb/…",
        )}
      </div>
      <div className="row">
        {text(
          "tgBlue",
          "Blue target group ARN",
          stored.targetGroups?.blue,
          "arn:aws:elasticloadbalancing:…:targetgroup/…",
        )}
        {text(
          "tgGreen",
          "Green target group ARN",
          stored.targetGroups?.green,
          "arn:aws:elasticloadbalancing:…:targetgroup/…",
        )}
      </div>
      <div className="row">
        {text(
          "testListenerArn",
          "Test listener ARN (optional)",
          stored.testListenerArn,
          "smoke tests through a second listener",
        )}
      </div>
      <div className="row">
        {text("smokeBlue", "Smoke-test URL of blue", stored.smokeTestBaseUrls?.blue, "https://my-alb…:8443")}
        {text("smokeGreen", "Smoke-test URL of green", stored.smokeTestBaseUrls?.green, "https://my-alb…:8443")}
      </div>
      <div className="row">
        {area(
          "alarmNames",
          "CloudWatch alarms that fail a step while in ALARM (one per line, optional)",
          (stored.alarmNames ?? []).join("\n"),
          "checkout-latency",
        )}
      </div>
      <div className="row">
        {text(
          "roleArn",
          "Role to assume in the environment's account (optional)",
          stored.assumeRole?.roleArn,
          "arn:aws:iam::210987654321:role/greenlight-deployer",
        )}
        {text("externalId", "External id", stored.assumeRole?.externalId, "", false)}
        {text("sessionName", "Session name", stored.assumeRole?.sessionName, "greenlight", false)}
      </div>
      <div className="row">
        {text("stickinessSeconds", "Stickiness (s)", stored.stickinessSeconds ?? 3600, "", false)}
        {text(
          "steadyStateTimeoutSeconds",
          "Steady-state timeout (s)",
          stored.steadyStateTimeoutSeconds ?? 600,
          "",
          false,
        )}
        {text("metricsPeriodSeconds", "CloudWatch period (s)", stored.metricsPeriodSeconds ?? 60, "", false)}
      </div>
      <p>
        <button type="button" disabled={verify.isPending} onClick={(e) => onVerify(e.currentTarget.form)}>
          {verify.isPending ? "Checking…" : "Check against AWS"}
        </button>{" "}
        <button type="submit" className="primary" disabled={configure.isPending}>
          Save
        </button>
      </p>
      {verify.data && (
        <ul aria-label="Checks against AWS">
          {verify.data.checks.map((c, i) => (
            <li
              key={i}
              className={
                c.level === "error" ? "outcome-fail" : c.level === "warning" ? "outcome-waiting" : "outcome-pass"
              }
            >
              {c.check}: {c.detail}
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
