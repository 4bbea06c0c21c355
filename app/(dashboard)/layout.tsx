import Link from "next/link";
import type { ReactNode } from "react";
import { NavLinks } from "@/components/NavLinks";
import { NotificationBell } from "./NotificationBell";
import { navigationFor } from "@/server/auth/navigation";
import { requirePageSession } from "../_lib/session";
import { Providers } from "../_lib/trpc";
import { SignOutButton } from "../_components/SignOutButton";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const session = await requirePageSession();
  const items = navigationFor(session.roles).map(({ href, label }) => ({ href, label }));
  return (
    <Providers>
      <header className="shell-header">
        <Link href="/" className="shell-brand">
          <img src="/greenlight.svg" alt="" width={24} height={24} /> Greenlight
        </Link>
        <NavLinks items={items} />
        <div className="shell-user">
          <NotificationBell />
          <Link href="/account" data-testid="current-user">
            {session.name}
          </Link>
          <SignOutButton />
        </div>
      </header>
      <main className="shell-main">{children}</main>
    </Providers>
  );
}
