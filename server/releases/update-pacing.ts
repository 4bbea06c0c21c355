/**
 * How often a deployment's live status line and gate figures are sent and stored. While a step bakes
 * a pass runs up to five times a second, and its status line and gate figures change on nearly every
 * one ("3,412 s left", a gate's request count). A reader needs a new word at once, and new figures
 * about once a second. Writing the line and sending every gate's figures on every pass made twenty
 * baking deployments most of the panel's work (`npm run bench -- api`).
 */

/** What was last written or sent: its kind, its full text, and when (ms since the epoch). */
export interface Sent {
  kind: string;
  text: string;
  at: number;
}

/**
 * Whether `next` goes out now: always when nothing went out yet or its kind changed, never when
 * nothing changed, and for new figures of the same kind once `everyMs` has passed since the last.
 */
export function isDue(last: Sent | undefined, next: { kind: string; text: string }, now: number, everyMs: number) {
  if (!last || last.kind !== next.kind) return true;
  if (last.text === next.text) return false;
  return now - last.at >= everyMs;
}

/** A status line's kind: its words, without the figures that change from pass to pass. */
export function detailKind(detail: string): string {
  return detail.replace(/\d[\d.,]*/g, "#");
}

/** How often new figures of the same kind are sent (the status line and gate figures, to open pages). */
export const FIGURES_EVERY_MS = 1000;

/**
 * How often the status line's new figures of the same kind are stored on the deployment's row (new
 * words are stored at once). Open pages get every second's figures from the socket; a page opened now
 * reads figures at most this old. A row written every second per deployment was a third of the
 * database's writes with a hundred deployments waiting (`npm run bench -- overview`).
 */
export const STORED_FIGURES_EVERY_MS = 5000;
