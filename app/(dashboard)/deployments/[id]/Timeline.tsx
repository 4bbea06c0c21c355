/** What happened, in order; gate ids recorded in older messages are shown in words. */
import { formatTime } from "@/lib/format";
import type { DeploymentData } from "./types";
import { inWords } from "./words";

export function Timeline({ events }: { events: DeploymentData["events"] }) {
  return (
    <section aria-label="Timeline section">
      <h2>Timeline</h2>
      <ol className="timeline" aria-label="Timeline">
        {events.map((e) => (
          <li key={e.seq} data-kind={e.kind}>
            <span className="muted mono">#{e.seq}</span>
            <span className="muted">{formatTime(e.at)}</span>
            <span>{inWords(e.message)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
