const TONE: Record<string, string> = {
  succeeded: "ok",
  rolled_back: "warn",
  failed: "bad",
  aborted: "off",
  paused: "warn",
  rolling_back: "bad",
};

/** A deployment's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${TONE[status] ?? "live"}`} data-testid="deployment-status">
      {status.replace(/_/g, " ")}
    </span>
  );
}
