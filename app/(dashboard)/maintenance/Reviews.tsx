"use client";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";
import type { Focus, MaintenanceCan } from "./permissions";
import { formatDateTime, formatDuration, relative, useNow } from "./time";
import { followUpsOf, timelineOf, type EmergenciesQuery, type Emergency, type FollowUp, type Review } from "./types";

/** The post-incident review of each authorised emergency: open ones (overdue first), then signed-off ones. */
export function Reviews({
  can,
  focus,
  emergencies,
  onChanged,
}: {
  can: MaintenanceCan;
  focus: Focus;
  emergencies: EmergenciesQuery;
  onChanged: () => void;
}) {
  const now = useNow(1000);
  const withReviews = (emergencies.data ?? []).filter((e): e is Emergency & { review: Review } => e.review !== null);
  // Open reviews by due time (overdue first), then signed-off ones, latest first.
  const sorted = withReviews.sort((a, b) => {
    const open = (e: typeof a) => (e.review.status === "open" ? 0 : 1);
    const due = new Date(a.review.dueAt).getTime() - new Date(b.review.dueAt).getTime();
    return open(a) - open(b) || (open(a) === 0 ? due : -due);
  });
  if (!emergencies.data) return null;
  if (sorted.length === 0)
    return (
      <p className="muted card">
        No post-incident reviews yet: each authorised emergency opens one, due within 24 hours.
      </p>
    );
  return (
    <div className="grid">
      {sorted.map((e) => (
        <ReviewCard
          key={e.review.id}
          emergency={e}
          review={e.review}
          can={can}
          now={now}
          focused={focus.review === e.review.id}
          onChanged={onChanged}
        />
      ))}
    </div>
  );
}

type Draft = { rootCause: string; followUps: FollowUp[]; basedOn: number };

function ReviewCard({
  emergency,
  review,
  can,
  now,
  focused,
  onChanged,
}: {
  emergency: Emergency;
  review: Review;
  can: MaintenanceCan;
  now: number;
  focused: boolean;
  onChanged: () => void;
}) {
  const trpc = useTRPC();
  const signedOff = review.status === "signed_off";
  const dueAt = new Date(review.dueAt);
  const overdue = !signedOff && dueAt.getTime() < now;
  const editable = can.updateReview && !signedOff;
  const updatedAt = new Date(review.updatedAt).getTime();
  const [draft, setDraft] = useState<Draft | null>(null);
  const saved = { rootCause: review.rootCause, followUps: followUpsOf(review) };
  const shown = draft ?? saved;
  const staleDraft = draft !== null && updatedAt > draft.basedOn;

  const save = useMutation(trpc.maintenance.updateReview.mutationOptions({ onSettled: onChanged }));
  const signOff = useMutation(trpc.maintenance.signOffReview.mutationOptions({ onSettled: onChanged }));
  const busy = save.isPending || signOff.isPending;
  const error = save.error ?? signOff.error;

  // What the draft started from: the review as shown, or as this card last saved it (if the refetch is not in yet).
  const savedAt = Math.max(updatedAt, save.data ? new Date(save.data.updatedAt).getTime() : 0);
  const edit = (change: Partial<Omit<Draft, "basedOn">>) =>
    setDraft({ ...shown, basedOn: draft?.basedOn ?? savedAt, ...change });
  const payload = () => ({
    id: review.id,
    rootCause: shown.rootCause,
    // Rows left entirely blank are dropped; a row with an owner or a date but no action is sent, so the server names it.
    followUps: shown.followUps.filter((f) => f.action.trim() || f.owner.trim() || f.due.trim()),
  });
  const onSave = () => {
    signOff.reset();
    save.mutate(payload(), { onSuccess: () => setDraft(null) });
  };
  const onSignOff = () => {
    save.reset();
    signOff.reset();
    // Unsaved edits are saved first: the server signs off what it has.
    if (draft && editable) {
      save.mutate(payload(), {
        onSuccess: () => {
          setDraft(null);
          signOff.mutate({ id: review.id });
        },
      });
    } else signOff.mutate({ id: review.id });
  };
  const authorisedAt = emergency.decidedAt ? new Date(emergency.decidedAt) : null;
  const dueHours = authorisedAt ? Math.round((dueAt.getTime() - authorisedAt.getTime()) / 3600_000) : null;
  const timeline = timelineOf(review);

  return (
    <article
      className={`card mx-review${overdue ? " mx-overdue" : ""}${focused ? " mx-focused" : ""}`}
      data-testid={`review-${review.id}`}
      data-status={review.status}
      id={`review-${review.id}`}
      tabIndex={-1}
      aria-label={`Post-incident review: ${emergency.reason}`}
    >
      <div className="section-head">
        <h3 className="mx-review-title">
          Review: {emergency.reason}{" "}
          <a className="mx-small" href={`#emergency-${emergency.id}`}>
            emergency
          </a>
        </h3>
        <div>
          {overdue && (
            <span className="status status-bad mx-overdue-flag" data-testid="review-overdue">
              Overdue
            </span>
          )}{" "}
          <span className={`status ${signedOff ? "status-ok" : "status-warn"}`} data-testid="rv-status">
            {signedOff ? "signed off" : "open"}
          </span>
        </div>
      </div>
      <dl className="kv">
        <dt>Owner</dt>
        <dd data-testid="rv-owner">{review.owner?.name ?? "—"}</dd>
        <dt>Due</dt>
        <dd data-testid="review-due" className={overdue ? "mx-late" : undefined}>
          <time dateTime={dueAt.toISOString()}>{formatDateTime(dueAt)}</time>
          {dueHours !== null && <span className="muted"> · {dueHours} h after authorisation</span>}
          {!signedOff && ` · ${overdue ? `overdue by ${formatDuration(now - dueAt.getTime())}` : relative(dueAt, now)}`}
        </dd>
        {signedOff && review.signedOffAt && (
          <>
            <dt>Signed off</dt>
            <dd data-testid="rv-signed-off">
              by <strong>{review.signedOffBy?.name ?? "someone"}</strong> ·{" "}
              {formatDateTime(new Date(review.signedOffAt))}
              {new Date(review.signedOffAt) > dueAt && <span className="mx-late"> (late)</span>}
            </dd>
          </>
        )}
      </dl>

      <h4>Timeline</h4>
      {timeline.length === 0 ? (
        <p className="muted">No audit events recorded.</p>
      ) : (
        <div className="mx-timeline-box">
          <table aria-label="Review timeline" className="mx-timeline">
            <thead>
              <tr>
                <th>Time</th>
                <th>Actor</th>
                <th>Action</th>
              </tr>
            </thead>
            <tbody>
              {timeline.map((event) => (
                <tr key={event.seq}>
                  <td className="mx-nowrap">{formatDateTime(new Date(event.at))}</td>
                  <td>{event.actor ?? "system"}</td>
                  <td className="mono">{event.action}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!signedOff && (
        <p className="muted mx-small">
          From the audit log as it stood when the emergency was authorised; brought up to date at sign-off.
        </p>
      )}

      {editable ? (
        <div className="field">
          <label htmlFor={`root-${review.id}`} className="mx-label">
            Root cause
          </label>
          <textarea
            id={`root-${review.id}`}
            className="mx-wide"
            rows={3}
            value={shown.rootCause}
            onChange={(e) => edit({ rootCause: e.target.value })}
          />
        </div>
      ) : (
        <>
          <h4>Root cause</h4>
          <p className="mx-pre" data-testid="rv-root-cause">
            {review.rootCause || <span className="muted">Not written yet.</span>}
          </p>
        </>
      )}

      <h4>Follow-up actions</h4>
      {editable ? (
        <FollowUpEditor reviewId={review.id} rows={shown.followUps} onChange={(followUps) => edit({ followUps })} />
      ) : saved.followUps.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <div className="mx-scroll">
          <table aria-label="Follow-up actions">
            <thead>
              <tr>
                <th>Action</th>
                <th>Owner</th>
                <th>Due</th>
              </tr>
            </thead>
            <tbody>
              {saved.followUps.map((f, i) => (
                <tr key={i}>
                  <td>{f.action}</td>
                  <td>{f.owner || "—"}</td>
                  <td>{f.due || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {staleDraft && (
        <Notice kind="warn">
          Someone else saved this review while you were editing; saving replaces their root cause and follow-ups with
          yours.
        </Notice>
      )}
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
      {save.isSuccess && !draft && !error && !signedOff && <Notice kind="ok">Review saved.</Notice>}
      {!signedOff && (editable || can.signOff) && (
        <div className="controls">
          {editable && (
            <button type="button" className="primary" disabled={busy || draft === null} onClick={onSave}>
              Save review
            </button>
          )}
          {editable && draft && (
            <button type="button" disabled={busy} onClick={() => setDraft(null)}>
              Discard changes
            </button>
          )}
          {can.signOff && (
            <button
              type="button"
              disabled={busy}
              onClick={onSignOff}
              title="Signing off closes the emergency and makes the review read-only"
            >
              Sign off
            </button>
          )}
        </div>
      )}
    </article>
  );
}

function FollowUpEditor({
  reviewId,
  rows,
  onChange,
}: {
  reviewId: string;
  rows: FollowUp[];
  onChange: (rows: FollowUp[]) => void;
}) {
  const shown = rows.length === 0 ? [{ action: "", owner: "", due: "" }] : rows;
  const set = (i: number, change: Partial<FollowUp>) =>
    onChange(shown.map((row, j) => (i === j ? { ...row, ...change } : row)));
  return (
    <div className="mx-followups">
      <div className="mx-scroll">
        <table aria-label="Follow-up actions">
          <thead>
            <tr>
              <th>Action</th>
              <th>Owner</th>
              <th>Due</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((row, i) => (
              <tr key={i}>
                <td>
                  <input
                    aria-label={`Follow-up ${i + 1} action`}
                    className="mx-wide"
                    value={row.action}
                    onChange={(e) => set(i, { action: e.target.value })}
                    id={`fu-${reviewId}-${i}-action`}
                  />
                </td>
                <td>
                  <input
                    aria-label={`Follow-up ${i + 1} owner`}
                    value={row.owner}
                    onChange={(e) => set(i, { owner: e.target.value })}
                  />
                </td>
                <td>
                  <input
                    aria-label={`Follow-up ${i + 1} due`}
                    type="date"
                    value={row.due}
                    onChange={(e) => set(i, { due: e.target.value })}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    aria-label={`Remove follow-up ${i + 1}`}
                    onClick={() => onChange(shown.filter((_, j) => j !== i))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" onClick={() => onChange([...shown, { action: "", owner: "", due: "" }])}>
        Add follow-up
      </button>
    </div>
  );
}
