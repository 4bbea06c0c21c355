"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Notice } from "@/components/Notice";
import { errorMessage, useTRPC } from "../../_lib/trpc";

type Topic = "maintenance" | "incidents";

const TOPICS: { topic: Topic; label: string }[] = [
  { topic: "maintenance", label: "Maintenance window notices (1 week, 24 hours and 1 hour before)" },
  { topic: "incidents", label: "Incidents (emergencies and reviews)" },
];

/** What the signed-in user is told about, in the notification centre (and by e-mail when configured). */
export function Subscriptions() {
  const trpc = useTRPC();
  const subscriptions = useQuery(trpc.me.subscriptions.queryOptions());
  return (
    <section className="card mx-subscriptions" aria-label="Notify me">
      <h3>Notify me about</h3>
      {subscriptions.error && <Notice kind="error">{errorMessage(subscriptions.error)}</Notice>}
      <div className="mx-toggles">
        {TOPICS.map(({ topic, label }) => (
          <Toggle key={topic} topic={topic} label={label} subscribed={subscriptions.data?.[topic]} />
        ))}
      </div>
    </section>
  );
}

function Toggle({ topic, label, subscribed }: { topic: Topic; label: string; subscribed: boolean | undefined }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // The switch follows the click at once (a controlled input would otherwise snap back until the call is made).
  const [saving, setSaving] = useState<boolean | null>(null);
  const set = useMutation(
    trpc.me.setSubscription.mutationOptions({
      onSuccess: (data) => queryClient.setQueryData(trpc.me.subscriptions.queryKey(), data),
      onSettled: () => setSaving(null),
    }),
  );
  return (
    <div>
      <label className="mx-toggle">
        <input
          type="checkbox"
          role="switch"
          checked={saving ?? subscribed ?? false}
          disabled={subscribed === undefined || saving !== null}
          aria-busy={saving !== null || undefined}
          onChange={(e) => {
            setSaving(e.target.checked);
            set.mutate({ topic, subscribed: e.target.checked });
          }}
        />
        <span>{label}</span>
      </label>
      {set.error && <Notice kind="error">{errorMessage(set.error)}</Notice>}
    </div>
  );
}
