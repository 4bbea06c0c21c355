/**
 * The events the panel pushes to browsers. Browsers treat them as hints (TanStack Query refetches),
 * so a missed event never leaves a stale screen. Before the realtime server is attached, events go
 * nowhere.
 */
import type { Role } from "../roles.ts";
import type { Realtime, RoomName, SessionSelector } from "./server.ts";

export interface PanelEvents {
  attach(realtime: Realtime): void;
  emit(room: RoomName, event: string, payload: unknown): void;
  usersChanged(): void;
  /** Sessions that ended (sign-out, password change or reset, deactivation): their sockets close. */
  sessionsEnded(selector: SessionSelector): void;
  /** A user's roles changed: their open sockets leave the rooms of roles they no longer hold. */
  rolesChanged(userId: string, roles: readonly Role[]): void;
  /** A refused request, shown live to administrators (bursts also raise security alerts). */
  securityRefusal(details: { path: string; user: { email: string }; ip: string }): void;
  /** Hands something worth telling people to the notification channels (set once they exist). */
  notify?: (notice: Notice) => void;
}

export interface Notice {
  kind: string;
  severity: "info" | "warning" | "critical";
  title: string;
  body: string;
  environmentId?: string;
  deploymentId?: string;
}

export function createPanelEvents(): PanelEvents {
  let realtime: Realtime | null = null;
  const emit = (room: RoomName, event: string, payload: unknown) => realtime?.emit(room, event, payload);
  return {
    attach(r) {
      realtime = r;
    },
    emit,
    usersChanged() {
      emit("role:admin", "users:changed", { at: new Date().toISOString() });
    },
    sessionsEnded(selector) {
      realtime?.endSessions(selector);
    },
    rolesChanged(userId, roles) {
      realtime?.setRoles(userId, roles);
    },
    securityRefusal({ path, user, ip }) {
      emit("role:admin", "security:refusal", { at: new Date().toISOString(), path, userEmail: user.email, ip });
    },
  };
}
