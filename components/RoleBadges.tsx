import { ROLE_LABELS, type Role } from "@/server/auth/roles";

export function RoleBadges({ roles }: { roles: readonly Role[] }) {
  return (
    <>
      {roles.map((role) => (
        <span key={role} className="badge">
          {ROLE_LABELS[role]}
        </span>
      ))}
    </>
  );
}
