/**
 * next-auth configuration: a credentials provider (bcrypt hashes in our database) and, when
 * configured, an OpenID Connect provider. Sessions are JWTs that expire SESSION_MAX_AGE after
 * sign-in. Built per request so sign-in outcomes are audited with the caller's address and trace id.
 */
import type { AuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import type { Services } from "../services.ts";
import { signInOidcUser } from "./oidc.ts";
import { authenticateWithPassword } from "./signin.ts";

const credentialsSchema = z.object({ email: z.string().max(320), password: z.string().max(1000) });

export interface AuthRequestMeta {
  ip: string;
  traceId: string;
}

export function buildAuthOptions(services: Services, request: AuthRequestMeta): AuthOptions {
  const { prisma, config, log } = services;
  const oidc = config.auth.oidc;
  const providers: AuthOptions["providers"] = [
    CredentialsProvider({
      id: "credentials",
      name: "Password",
      credentials: { email: { label: "E-mail", type: "email" }, password: { label: "Password", type: "password" } },
      async authorize(credentials) {
        const parsed = credentialsSchema.safeParse(credentials ?? {});
        if (!parsed.success) return null;
        const result = await authenticateWithPassword(prisma, parsed.data, request);
        if (!result.ok) {
          void services.security.observe({ kind: "signin_failed", ip: request.ip, identifier: parsed.data.email.trim().toLowerCase() }).catch(() => {});
          return null;
        }
        return { id: result.user.id, email: result.user.email, name: result.user.name };
      },
    }),
  ];
  if (oidc) {
    providers.push({
      id: "oidc",
      name: "Single sign-on",
      type: "oauth",
      wellKnown: `${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
      clientId: oidc.clientId,
      clientSecret: oidc.clientSecret,
      authorization: { params: { scope: "openid email profile" } },
      idToken: true,
      checks: ["pkce", "state"],
      profile(profile: Record<string, unknown>) {
        return {
          id: String(profile.sub),
          email: String(profile.email ?? ""),
          name: String(profile.name ?? profile.preferred_username ?? profile.email ?? ""),
          groups: profile[oidc.groupsClaim],
        };
      },
    });
  }

  return {
    secret: services.auth.secret,
    useSecureCookies: services.auth.secureCookies,
    session: { strategy: "jwt", maxAge: services.auth.maxAgeSeconds },
    jwt: { maxAge: services.auth.maxAgeSeconds },
    pages: { signIn: "/signin", error: "/signin" },
    providers,
    callbacks: {
      async signIn({ user, account }) {
        if (account?.provider !== "oidc" || !oidc) return true;
        const profile = user as unknown as { id: string; email: string; name: string; groups: unknown };
        if (!profile.email) return false;
        const dbUser = await signInOidcUser(prisma, { sub: profile.id, email: profile.email, name: profile.name, groups: profile.groups }, oidc.roleMap, request);
        return dbUser !== null;
      },
      async jwt({ token, user, account }) {
        if (user && account) {
          const id = account.provider === "oidc" ? (await prisma.user.findUnique({ where: { externalId: user.id } }))?.id : user.id;
          return { sub: id, email: user.email, name: user.name, authTime: Date.now(), provider: account.provider };
        }
        return token;
      },
      async session({ session, token }) {
        return { ...session, user: { ...session.user, id: token.sub } };
      },
    },
    events: {
      async signOut({ token }) {
        const userId = typeof token?.sub === "string" ? token.sub : null;
        if (!userId) return;
        const user = await prisma.user.findUnique({ where: { id: userId } });
        await prisma.$transaction((tx) =>
          recordAudit(tx, { userId, email: user?.email ?? null, roles: user ? [...user.roles] : [], ip: request.ip, traceId: request.traceId }, {
            action: "auth.signed_out",
            entityType: "User",
            entityId: userId,
          }),
        );
      },
    },
    logger: {
      error: (code, metadata) => log.error({ action: "auth.library_error", metadata: { code, detail: metadata instanceof Error ? metadata.message : metadata } }, `next-auth: ${code}`),
      warn: (code) => log.warn({ action: "auth.library_warning", metadata: { code } }, `next-auth: ${code}`),
      debug: () => {},
    },
  };
}
