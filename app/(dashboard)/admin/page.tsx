import type { Metadata } from "next";
import { Forbidden } from "@/components/Forbidden";
import { rolesAllowed } from "@/server/auth/permissions";
import { mayUse } from "../../_lib/access";
import { requirePageSession } from "../../_lib/session";
import { UsersAdmin } from "./UsersAdmin";

export const metadata: Metadata = { title: "Admin" };

export default async function AdminPage() {
  const session = await requirePageSession();
  if (!mayUse(session, "users.list"))
    return <Forbidden what="User administration" roles={rolesAllowed("users.list")} />;
  return (
    <>
      <h1>Admin</h1>
      <UsersAdmin currentUserId={session.id} />
    </>
  );
}
