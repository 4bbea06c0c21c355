/**
 * The world a fuzz run calls into: a panel with a service and its environments, a release, a change
 * request, users, and the ids of all of them for the fuzzer to use. The all-roles user who sends
 * most calls is left out of the ids, so that the fuzzer does not demote or lock out its own caller.
 */
import { systemActor } from "../../server/audit/actor.ts";
import { ROLES } from "../../server/auth/roles.ts";
import { createUser } from "../../server/auth/users.ts";
import type { Panel } from "../../server/panel.ts";
import type { IdPool } from "./fuzz.ts";
import { signInOverHttp } from "./http-auth.ts";
import { trpcMutation } from "./trpc.ts";

export async function prepareFuzzWorld(
  panel: Panel,
  url: string,
): Promise<{ pool: IdPool; cookies: { all: string; viewer: string } }> {
  const prisma = panel.services.prisma;
  const signedIn = async (roles: (typeof ROLES)[number][], email: string) => {
    const { initialPassword } = await createUser(
      prisma,
      systemActor(),
      { email, name: email, roles },
      panel.services.config.auth.bcryptCost,
    );
    return (await signInOverHttp(url, email, initialPassword))!;
  };
  const all = await signedIn([...ROLES], "fuzz-all@example.test");
  const viewer = await signedIn(["viewer"], "fuzz-viewer@example.test");
  await signedIn(["approver"], "fuzz-approver@example.test");
  const service = await trpcMutation<{ id: string }>(
    url,
    "services.create",
    { name: "Fuzzed", environments: ["development", "production"] },
    all,
  );
  const release = await trpcMutation<{ id: string }>(
    url,
    "releases.create",
    { serviceId: service.data!.id, version: "1.0.0", artifact: "fuzzed:1.0.0" },
    all,
  );
  const production = await prisma.environment.findFirstOrThrow({
    where: { serviceId: service.data!.id, name: "production" },
  });
  await trpcMutation(
    url,
    "changes.create",
    { releaseId: release.data!.id, environmentId: production.id, type: "standard", title: "Fuzzed change" },
    all,
  );
  const self = await prisma.user.findUniqueOrThrow({ where: { email: "fuzz-all@example.test" } });
  const rows = await Promise.all([
    prisma.user.findMany({ where: { id: { not: self.id } }, select: { id: true } }),
    prisma.service.findMany({ select: { id: true } }),
    prisma.environment.findMany({ select: { id: true } }),
    prisma.release.findMany({ select: { id: true } }),
    prisma.changeRequest.findMany({ select: { id: true } }),
    prisma.maintenanceWindowRule.findMany({ select: { id: true } }),
  ]);
  return { pool: { ids: rows.flat().map((r) => r.id) }, cookies: { all, viewer } };
}
