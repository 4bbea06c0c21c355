/**
 * The layers of ARCHITECTURE.md, enforced by `npm test` (npm run lint:layers). Imports point down:
 *
 *   app/ (pages)           → components/, lib/, and the server's types and pure shared rules
 *   components/            → lib/ (never app/)
 *   server/http, trpc      → the domain below
 *   server/releases, governance, pipelines, delivery, audit, realtime, telemetry → targets, db, config, shared rules
 *   server/targets         → db, telemetry's logger, config (never the domain that drives it)
 *   server/config.ts       → only the bottom vocabulary (server/roles.ts, server/ed25519-key.ts)
 * and no cycles anywhere.
 */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle makes two modules one: change one and the other moves.",
      from: {},
      to: { circular: true },
    },
    {
      name: "components-not-pages",
      severity: "error",
      comment: "Components are below the pages: they take what a page gives them.",
      from: { path: "^components/" },
      to: { path: "^app/" },
    },
    {
      name: "domain-without-web",
      severity: "error",
      comment:
        "Domain code has no React, Next.js or tRPC, and never reaches up into the HTTP front door or the routers.",
      from: { path: "^server/(releases|governance|audit|telemetry|targets|auth|pipelines|delivery|db|realtime)/" },
      to: { path: "^(server/(http|trpc)/|app/|components/)|^node_modules/(react|react-dom|next|@trpc)/" },
    },
    {
      name: "targets-below-the-engine",
      severity: "error",
      comment: "Targets are driven by the release engine; they never import it (or governance, audit, pipelines).",
      from: { path: "^server/targets/" },
      to: { path: "^server/(releases|governance|audit|pipelines|delivery)/" },
    },
    {
      name: "telemetry-below-the-engine",
      severity: "error",
      comment: "Telemetry records and serves figures; the rules that read them live above it.",
      from: { path: "^server/telemetry/" },
      to: { path: "^server/(releases|governance|pipelines|delivery)/" },
    },
    {
      name: "realtime-without-auth",
      severity: "error",
      comment: "The Socket.io server is given an authenticate function; it does not reach into auth.",
      from: { path: "^server/realtime/" },
      to: { path: "^server/auth/" },
    },
    {
      name: "config-at-the-bottom",
      severity: "error",
      comment:
        "server/config.ts reads the environment; of ours it imports only the bottom vocabulary it checks values against.",
      from: { path: "^server/config\\.ts$" },
      to: { path: "^(server|app|components|lib)/", pathNot: "^server/(roles|ed25519-key)\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|\\.next|\\.cache|server/db/generated)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
