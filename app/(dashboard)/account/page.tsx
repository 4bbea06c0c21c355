import type { Metadata } from "next";
import { RoleBadges } from "@/components/RoleBadges";
import { requirePageSession } from "../../_lib/session";
import { ChangePassword } from "./ChangePassword";

export const metadata: Metadata = { title: "Account" };

export default async function AccountPage() {
  const session = await requirePageSession();
  return (
    <>
      <h1>Your account</h1>
      <div className="card">
        <p>
          <strong>{session.name}</strong> · {session.email}
        </p>
        <p>
          <RoleBadges roles={session.roles} />
        </p>
      </div>
      <h2>Change password</h2>
      <ChangePassword />
    </>
  );
}
