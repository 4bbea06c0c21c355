"use client";
import { useState } from "react";
import { signOut } from "../_lib/auth-client";

/** Until the page is hydrated no button takes a click (HydrationMark and globals.css). */
export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void signOut().finally(() => setBusy(false));
      }}
    >
      Sign out
    </button>
  );
}
