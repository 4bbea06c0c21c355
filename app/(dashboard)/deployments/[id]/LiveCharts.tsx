"use client";
/**
 * The deployment's traffic: its steps and the split now, then charts from a minute before it started
 * to now with each step's start marked, zoomable to one step, and each slot's current figures beside
 * them (requests/s, error rate, p50/p95/p99 over the last 10 s, or CloudWatch's newest period), all
 * updating live.
 */
import { useMemo, useState } from "react";
import {
  currentFigures,
  figuresCaption,
  toPoint,
  type Sample,
  type SlotName,
  type SlotNow,
} from "@/components/chart-series";
import { MetricsCharts } from "@/components/MetricsCharts";
import { TrafficSplit } from "@/components/TrafficSplit";
import { formatMs, formatPercent, formatRps } from "@/lib/format";
import { useNow } from "../../maintenance/time";
import type { DeploymentData } from "./types";
import { LEAD_IN_MS, useDeploymentMetrics } from "./useDeploymentMetrics";
import { slotRole } from "./words";

export function TrafficSteps({ d }: { d: DeploymentData }) {
  const trafficMoved = d.events.some((e) => e.kind === "step");
  const roles = {
    blue: d.targetSlot === "blue" ? "new" : "live",
    green: d.targetSlot === "green" ? "new" : "live",
  };
  return (
    <section className="card" style={{ marginTop: "1rem" }}>
      <div className="section-head">
        <div className="steps" aria-label="Traffic steps">
          {d.steps.map((step, i) => {
            const done =
              i < d.stepIndex ||
              (i === d.stepIndex && ["validating", "succeeded"].includes(d.status)) ||
              (d.status === "smoke_testing" && trafficMoved && i === d.stepIndex);
            const current = i === d.stepIndex && d.status === "shifting";
            return (
              <span key={step} className={`step${done ? " done" : ""}${current ? " current" : ""}`}>
                {step}%
              </span>
            );
          })}
          <span className="muted">
            → {d.targetSlot} (from {d.fromSlot})
          </span>
        </div>
        <TrafficSplit weights={d.weights} roles={roles} />
      </div>
    </section>
  );
}

type Zoom = { label: string; from: number; to: number } | null;

export function LiveCharts({ d }: { d: DeploymentData }) {
  const samples = useDeploymentMetrics(d.environment.id, d.startedAt, d.finishedAt);
  const points = useMemo(() => samples.map(toPoint), [samples]);
  const [zoom, setZoom] = useState<Zoom>(null);
  // An ECS environment's figures are CloudWatch periods that end a minute or more ago: the caption's
  // "N s ago" counts on between periods (a local environment's samples re-render every second anyway).
  const cloudWatch = d.environment.target === "ecs";
  const now = useNow(cloudWatch && !d.finishedAt ? 1000 : 3_600_000);
  // The page renders again at every live event (the split, the status detail, the gates), several a
  // second; the charts only when what they show changes. Their props are kept the same objects until
  // then, and MetricsCharts is memoised: four charts drawn three or four times a second kept a
  // browser core about a third busy on a page left open.
  const [blueName, greenName] = [slotRole("blue", d), slotRole("green", d)];
  const names = useMemo<Record<SlotName, string>>(() => ({ blue: blueName, green: greenName }), [blueName, greenName]);
  const marksKey = d.stepMarks.map((m) => `${new Date(m.at).getTime()}:${d.steps[m.stepIndex] ?? 100}`).join(" ");
  const marks = useMemo(
    () =>
      marksKey
        .split(" ")
        .filter(Boolean)
        .map((mark) => {
          const [t, step] = mark.split(":");
          return { t: Number(t), label: `${step} %` };
        }),
    [marksKey],
  );
  const end = d.finishedAt
    ? new Date(d.finishedAt).getTime()
    : // eslint-disable-next-line react-hooks/purity -- a running deployment's charts end now; each live update renders again
      (points[points.length - 1]?.t ?? Date.now());
  const zooms = marks.map((m, i) => ({
    label: m.label,
    from: m.t,
    to: marks[i + 1]?.t ?? end,
  }));
  const wholeFrom = new Date(d.startedAt).getTime() - LEAD_IN_MS;
  const wholeTo = Math.max(end, new Date(d.startedAt).getTime());
  const whole = useMemo(() => ({ from: wholeFrom, to: wholeTo }), [wholeFrom, wholeTo]);
  const nothingLive = !d.liveRelease;
  return (
    <section aria-label="Live metrics" style={{ marginTop: "1rem" }}>
      <div className="section-head">
        <h2 style={{ margin: 0 }}>Traffic and health</h2>
        <div className="controls" role="group" aria-label="Chart range">
          <button type="button" aria-pressed={zoom === null} onClick={() => setZoom(null)}>
            Whole deployment
          </button>
          {zooms.map((z) => (
            <button key={z.from} type="button" aria-pressed={zoom?.from === z.from} onClick={() => setZoom(z)}>
              Step {z.label}
            </button>
          ))}
        </div>
      </div>
      {nothingLive && (
        <p className="muted" data-testid="nothing-live">
          Nothing was live in {d.environment.name} when this deployment started: the {d.fromSlot} slot holds no release,
          so there is nothing to measure there; its requests raise no alert and count for no availability.
        </p>
      )}
      <div className="live-metrics">
        <SlotFigures samples={samples} names={names} order={[d.targetSlot, d.fromSlot]} cloudWatch={cloudWatch} />
        <MetricsCharts
          points={points}
          now={now}
          cloudWatch={cloudWatch}
          range={zoom ?? whole}
          marks={marks}
          names={names}
        />
      </div>
    </section>
  );
}

const FIGURES_WINDOW_SECONDS = 10;

function SlotFigures({
  samples,
  names,
  order,
  cloudWatch,
}: {
  samples: Sample[];
  names: Record<SlotName, string>;
  order: SlotName[];
  cloudWatch: boolean;
}) {
  const figures = currentFigures(samples, FIGURES_WINDOW_SECONDS);
  return (
    <div className="scroll-x">
      <table className="slot-figures" aria-label="Current figures per slot" data-testid="slot-figures">
        <caption className="muted">{figuresCaption(samples, FIGURES_WINDOW_SECONDS, cloudWatch)}</caption>
        <thead>
          <tr>
            <th>Slot</th>
            <th>Requests/s</th>
            <th>Errors</th>
            <th>p50</th>
            <th>p95</th>
            <th>p99</th>
          </tr>
        </thead>
        <tbody>
          {order.map((slot) => (
            <SlotRow key={slot} slot={slot} name={names[slot]} now={figures?.[slot] ?? null} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SlotRow({ slot, name, now }: { slot: SlotName; name: string; now: SlotNow | null }) {
  return (
    <tr data-slot={slot}>
      <th scope="row">
        <span className={`swatch swatch-${slot}`} aria-hidden="true" /> {name}
      </th>
      {now?.vacant ? (
        <td colSpan={5} className="muted">
          no release here: nothing to measure
        </td>
      ) : (
        <>
          <td data-figure="rps">{formatRps(now?.rps)}</td>
          <td data-figure="errors">{formatPercent(now?.errorPercent)}</td>
          <td>{formatMs(now?.p50)}</td>
          <td>{formatMs(now?.p95)}</td>
          <td>{formatMs(now?.p99)}</td>
        </>
      )}
    </tr>
  );
}
