"use client";
import { useState, useSyncExternalStore } from "react";
import { signOut } from "../_lib/auth-client";

const subscribeToNothing = () => () => {};

/** False in the server's HTML and during hydration, true once React handles events on the page. */
function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribeToNothing,
    () => true,
    () => false,
  );
}

/**
 * Disabled until the page is hydrated: the server's HTML shows the button at once, and a click before
 * React has attached its handler would be lost with nothing said (an e2e run clicked it just then).
 */
export function SignOutButton() {
  const hydrated = useHydrated();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={!hydrated || busy}
      onClick={() => {
        setBusy(true);
        void signOut().finally(() => setBusy(false));
      }}
    >
      Sign out
    </button>
  );
}
