import type { ReactNode } from "react";

/** What a page shows when there is nothing to show yet, and what will fill it. */
export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="card empty">
      <h2>{title}</h2>
      <div>{children}</div>
    </div>
  );
}
