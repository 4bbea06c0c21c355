// Next.js renders pages only. API routes, auth, health and metrics are served by the custom
// server (server/main.ts) so that one process holds one database handle and one metrics registry;
// see ARCHITECTURE.md ("HTTP surface").
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Type errors are caught by `npm run typecheck` (part of `npm test`); checking twice slows `npm start`.
  typescript: { ignoreBuildErrors: true },
  // Keep server-only packages out of any bundle that might accidentally import them.
  serverExternalPackages: ["@electric-sql/pglite", "pg", "pino", "bcryptjs"],
};
module.exports = nextConfig;
