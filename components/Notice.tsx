import type { ReactNode } from "react";

export function Notice({
  kind,
  children,
  role,
}: {
  kind: "error" | "ok" | "warn";
  children: ReactNode;
  role?: "alert" | "status";
}) {
  return (
    <div className={`notice ${kind}`} role={role ?? (kind === "error" ? "alert" : "status")}>
      {children}
    </div>
  );
}
