/**
 * Demo users, one per role, with random passwords that are shown once on the console (never
 * hard-coded, never on the sign-in page). Seeded on the first start of the embedded default, or on
 * demand with `npm run seed:demo`.
 */
import { systemActor } from "../audit/actor.ts";
import { recordAudit } from "../audit/record.ts";
import type { PrismaClient } from "../db/generated/client.ts";
import { generatePassword, hashPassword } from "./passwords.ts";
import { ROLE_LABELS, ROLES, type Role } from "./roles.ts";

export interface DemoCredential {
  role: Role;
  email: string;
  password: string;
}

export function demoEmail(role: Role): string {
  return `${role.replace(/_/g, "-")}@greenlight.local`;
}

/**
 * Creates the demo users that do not exist yet. With `onlyIfEmpty`, does nothing unless the panel
 * has no users at all (the first start).
 */
export async function seedDemoUsers(
  prisma: PrismaClient,
  options: { onlyIfEmpty: boolean; bcryptCost: number },
): Promise<DemoCredential[]> {
  if (options.onlyIfEmpty && (await prisma.user.count()) > 0) return [];
  const candidates = await Promise.all(
    ROLES.map(async (role) => {
      const password = generatePassword();
      return { role, email: demoEmail(role), password, passwordHash: await hashPassword(password, options.bcryptCost) };
    }),
  );
  return prisma.$transaction(async (tx) => {
    const created: DemoCredential[] = [];
    for (const c of candidates) {
      if (await tx.user.findUnique({ where: { email: c.email } })) continue;
      const user = await tx.user.create({
        data: { email: c.email, name: `Demo ${ROLE_LABELS[c.role]}`, roles: [c.role], passwordHash: c.passwordHash },
      });
      await recordAudit(tx, systemActor(), {
        action: "user.created",
        entityType: "User",
        entityId: user.id,
        after: { email: user.email, name: user.name, roles: user.roles, demo: true },
      });
      created.push({ role: c.role, email: c.email, password: c.password });
    }
    return created;
  });
}

export function formatDemoCredentials(credentials: DemoCredential[]): string {
  const width = Math.max(...credentials.map((c) => c.email.length));
  const lines = credentials.map((c) => `  ${ROLE_LABELS[c.role].padEnd(22)} ${c.email.padEnd(width)}  ${c.password}`);
  return [`Demo sign-ins (shown only now; change or reset them on the Admin page):`, ...lines].join("\n");
}
