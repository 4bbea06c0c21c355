/** What the CLI's exit status tells a CI job. */
export const EXIT = {
  /** The deployment succeeded (or the command did what it was asked). */
  ok: 0,
  /** Anything else went wrong: bad input, a refused token, the panel unreachable, a timeout, an abort. */
  error: 1,
  /** The panel judged the release bad and put traffic back: rolled back (or failed before traffic). */
  rolledBack: 2,
  /** Governance refused to start the deployment (promotion order, approvals, checklist, window). */
  refused: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit status for a deployment's verdict once it has ended. */
export function exitCodeForVerdict(verdict: string): ExitCode {
  if (verdict === "succeeded") return EXIT.ok;
  if (verdict === "rolled_back" || verdict === "failed") return EXIT.rolledBack;
  return EXIT.error;
}

/** A refused start: 412 is governance saying no (a broken target configuration is a 409: an error, not a refusal). */
export function exitCodeForStartRefusal(status: number): ExitCode {
  return status === 412 ? EXIT.refused : EXIT.error;
}
