"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../../_lib/trpc";
import { formText } from "../../../../lib/form-text";

/** After a production deployment succeeds, the people concerned rate it from 1 to 5. */
export function Survey({
  deploymentId,
  userId,
  canSubmit,
}: {
  deploymentId: string;
  userId: string;
  canSubmit: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const responses = useQuery(trpc.surveys.forDeployment.queryOptions({ deploymentId }));
  const submit = useMutation(
    trpc.surveys.submit.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries({ queryKey: trpc.surveys.pathKey() }),
    }),
  );
  const mine = responses.data?.find((r) => r.userId === userId);
  const [rating, setRating] = useState<number | null>(null);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const comment = formText(new FormData(event.currentTarget), "comment");
    if (rating) submit.mutate({ deploymentId, rating, comment });
  }

  return (
    <section className="card" style={{ marginTop: "1rem" }} aria-label="How did this deployment go?">
      <h2 style={{ marginTop: 0 }}>How did this deployment go?</h2>
      {responses.data && responses.data.length > 0 && (
        <p className="muted">
          {responses.data.length} rating{responses.data.length === 1 ? "" : "s"}, average{" "}
          {Math.round((responses.data.reduce((n, r) => n + r.rating, 0) / responses.data.length) * 10) / 10} / 5
        </p>
      )}
      {canSubmit && (
        <form onSubmit={onSubmit} className="row">
          <div className="field" role="radiogroup" aria-label="Rating">
            {[1, 2, 3, 4, 5].map((n) => (
              <label key={n} style={{ display: "inline-flex", gap: "0.2rem", marginRight: "0.6rem", color: "inherit" }}>
                <input
                  type="radio"
                  name="rating"
                  value={n}
                  checked={(rating ?? mine?.rating) === n}
                  onChange={() => setRating(n)}
                />{" "}
                {n}
              </label>
            ))}
          </div>
          <div className="field" style={{ flex: 1 }}>
            <label htmlFor="survey-comment">Comment</label>
            <input id="survey-comment" name="comment" defaultValue={mine?.comment ?? ""} style={{ width: "100%" }} />
          </div>
          <div className="field">
            <button type="submit" className="primary" disabled={!rating || submit.isPending}>
              {mine ? "Update rating" : "Rate"}
            </button>
          </div>
        </form>
      )}
      {submit.isSuccess && <Notice kind="ok">Thank you.</Notice>}
      {submit.error && <Notice kind="error">{errorMessage(submit.error)}</Notice>}
    </section>
  );
}
