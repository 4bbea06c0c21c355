/** The app router: every procedure the panel serves at /api/trpc. */
import { createRouter } from "./init.ts";
import { auditRouter } from "./routers/audit.ts";
import { meRouter } from "./routers/me.ts";
import { usersRouter } from "./routers/users.ts";

export const appRouter = createRouter({
  me: meRouter,
  users: usersRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
