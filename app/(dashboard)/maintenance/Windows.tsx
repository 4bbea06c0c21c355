"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import {
  formatClock,
  formatDateTime,
  formatDuration,
  formatLength,
  formatRange,
  relative,
  useNow,
  viewerZone,
} from "./time";

/** The window open now (with its rollback deadline) and the next six, counting down every second. */
export function Windows() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const windows = useQuery({ ...trpc.maintenance.windows.queryOptions({ count: 6 }), refetchInterval: 30_000 });
  const clientNow = useNow(1000);
  // Count down on the server's clock: the offset between its `now` and ours when the answer came.
  const skew = windows.data ? new Date(windows.data.now).getTime() - windows.dataUpdatedAt : 0;
  const now = clientNow + (Math.abs(skew) > 2000 ? skew : 0);

  // When the open window ends or the next one starts, ask again rather than wait for the interval.
  const boundary = windows.data
    ? Math.min(
        ...[windows.data.current?.end, windows.data.upcoming[0]?.start]
          .filter((x): x is string => Boolean(x))
          .map((x) => new Date(x).getTime()),
      )
    : Infinity;
  const refetched = useRef<number | null>(null);
  useEffect(() => {
    if (Number.isFinite(boundary) && now >= boundary && refetched.current !== boundary) {
      refetched.current = boundary;
      void queryClient.invalidateQueries({ queryKey: trpc.maintenance.windows.pathKey() });
    }
  }, [now, boundary, queryClient, trpc]);

  if (windows.error) return <Notice kind="error">{errorMessage(windows.error)}</Notice>;
  if (!windows.data) return <p className="muted">Loading windows…</p>;
  const { current, upcoming } = windows.data;
  const zone = viewerZone();

  return (
    <>
      {current ? (
        <CurrentWindow window={current} now={now} zone={zone} />
      ) : (
        <div className="card mx-closed" data-testid="no-current-window">
          <strong>No maintenance window is open now.</strong>{" "}
          {upcoming[0] ? (
            <span className="muted">
              The next one, {upcoming[0].name}, opens {relative(new Date(upcoming[0].start), now)}.
            </span>
          ) : (
            <span className="muted">None is scheduled.</span>
          )}
        </div>
      )}

      <h2>Upcoming windows</h2>
      {upcoming.length === 0 ? (
        <p className="muted" data-testid="upcoming-windows">
          No window in the next 400 days. An administrator adds window rules below.
        </p>
      ) : (
        <div className="mx-scroll">
          <table aria-label="Upcoming windows" data-testid="upcoming-windows" className="mx-upcoming">
            <thead>
              <tr>
                <th>Window</th>
                <th>Your time ({zone})</th>
                <th>Rule&apos;s time</th>
                <th>Opens</th>
              </tr>
            </thead>
            <tbody>
              {upcoming.map((w) => {
                const start = new Date(w.start);
                const end = new Date(w.end);
                return (
                  <tr key={`${w.ruleId}-${w.start}`} data-testid="upcoming-window" data-rule={w.ruleId}>
                    <td>
                      <strong>{w.name}</strong>
                      <div className="muted">{formatLength(end.getTime() - start.getTime())}</div>
                    </td>
                    <td data-testid="window-local">
                      <time dateTime={w.start}>{formatRange(start, end, zone)}</time>
                    </td>
                    <td data-testid="window-rule-zone">
                      {formatRange(start, end, w.timezone)}
                      <div className="muted">{w.timezone}</div>
                    </td>
                    <td data-testid="window-countdown" className="mx-countdown">
                      {relative(start, now)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

interface OpenWindow {
  name: string;
  timezone: string;
  start: string;
  end: string;
  stepCutoff: string;
  rollbackDeadline: string;
}

function CurrentWindow({ window: w, now, zone }: { window: OpenWindow; now: number; zone: string }) {
  const start = new Date(w.start);
  const end = new Date(w.end);
  const cutoff = new Date(w.stepCutoff);
  const deadline = new Date(w.rollbackDeadline);
  const stepsAllowed = now < cutoff.getTime();
  const elapsed = Math.min(100, Math.max(0, ((now - start.getTime()) / (end.getTime() - start.getTime())) * 100));
  const cutoffAt = ((cutoff.getTime() - start.getTime()) / (end.getTime() - start.getTime())) * 100;
  return (
    <section className="card mx-current" data-testid="current-window" aria-label="Current maintenance window">
      <div className="section-head">
        <div>
          <div className="mx-eyebrow">Maintenance window open now</div>
          <h2 className="mx-current-name">{w.name}</h2>
          <div>
            {formatRange(start, end, zone)}
            {w.timezone !== zone && <span className="muted"> · {formatRange(start, end, w.timezone)}</span>}
          </div>
        </div>
        <div className="mx-big-countdown" aria-live="off">
          <div className="muted">ends in</div>
          <div className="mx-big-number" data-testid="current-countdown">
            {formatDuration(end.getTime() - now, { seconds: true })}
          </div>
        </div>
      </div>
      <div className="mx-progress" aria-hidden="true">
        <div className="mx-progress-done" style={{ width: `${elapsed}%` }} />
        <div className="mx-progress-cutoff" style={{ left: `${cutoffAt}%` }} />
      </div>
      <dl className="kv mx-deadlines">
        <dt>Rollback deadline</dt>
        <dd data-testid="rollback-deadline">
          {stepsAllowed ? (
            <>
              <strong>{formatClock(cutoff, zone)}</strong> — no new traffic step starts after then (
              {relative(cutoff, now, { seconds: true })}), so a rollback still fits before the window closes.
            </>
          ) : (
            <span className="mx-late">
              Passed at {formatClock(cutoff, zone)}: no new traffic step starts in this window; rollbacks only.
            </span>
          )}
        </dd>
        <dt>Window ends</dt>
        <dd data-testid="window-end">
          <strong>{formatDateTime(deadline, zone)}</strong> ({relative(deadline, now, { seconds: true })})
        </dd>
      </dl>
    </section>
  );
}
