/** The app router: every procedure the panel serves at /api/trpc. */
import { createRouter } from "./init.ts";
import { auditRouter } from "./routers/audit.ts";
import { changesRouter } from "./routers/changes.ts";
import { checklistRouter } from "./routers/checklist.ts";
import { maintenanceRouter } from "./routers/maintenance.ts";
import { surveysRouter } from "./routers/surveys.ts";
import { targetsRouter } from "./routers/targets.ts";
import { tokensRouter } from "./routers/tokens.ts";
import { deliveryRouter } from "./routers/delivery.ts";
import { deploymentsRouter } from "./routers/deployments.ts";
import { environmentsRouter } from "./routers/environments.ts";
import { releasesRouter } from "./routers/releases.ts";
import { servicesRouter } from "./routers/services.ts";
import { meRouter } from "./routers/me.ts";
import { usersRouter } from "./routers/users.ts";

export const appRouter = createRouter({
  me: meRouter,
  users: usersRouter,
  audit: auditRouter,
  services: servicesRouter,
  environments: environmentsRouter,
  releases: releasesRouter,
  deployments: deploymentsRouter,
  delivery: deliveryRouter,
  changes: changesRouter,
  checklist: checklistRouter,
  maintenance: maintenanceRouter,
  surveys: surveysRouter,
  targets: targetsRouter,
  tokens: tokensRouter,
});

export type AppRouter = typeof appRouter;
