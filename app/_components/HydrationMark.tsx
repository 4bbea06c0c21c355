"use client";
import { useEffect } from "react";

/**
 * Marks `<html data-hydrated>` once React handles events on the page. The server's HTML shows every
 * button at once, and until the scripts have run a click on one is lost with nothing said (CI clicked
 * "New service" just then and waited four minutes for a form). globals.css lets no button take a
 * pointer event until this mark is set, so an early click waits for its handler instead of vanishing.
 */
export function HydrationMark() {
  useEffect(() => {
    document.documentElement.dataset.hydrated = "true";
  }, []);
  return null;
}
