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
import { safeCallbackPath } from "./callback-url.ts";
import { signInOidcUser } from "./oidc.ts";
import { endSessions, startSession } from "./session.ts";
import { authenticateWithPassword } from "./signin.ts";
import type { SignInAttempt } from "./throttle.ts";

/** An identity provider's claim as text: only a string counts (an object's "[object Object]" is no e-mail). */
function claimText(claim: unknown): string {
  return typeof claim === "string" ? claim : "";
}

const credentialsSchema = z.object({ email: z.string().max(320), password: z.string().max(1000) });

export interface AuthRequestMeta {
  ip: string;
  traceId: string;
  /** The password attempt reserved by the throttle (credentials sign-ins only). */
  attempt?: SignInAttempt;
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
        services.metrics.passwordChecks.inc();
        const result = await authenticateWithPassword(prisma, parsed.data, request, config.auth.bcryptCost);
        if (!result.ok) {
          void services.security
            .observe({ kind: "signin_failed", ip: request.ip, identifier: parsed.data.email.trim().toLowerCase() })
            .catch(() => {});
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
          email: claimText(profile.email),
          name: claimText(profile.name) || claimText(profile.preferred_username) || claimText(profile.email),
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
      // The same rule as the sign-in page and the server's own redirect (next-auth's default only
      // looks at the first character).
      redirect: ({ url, baseUrl }) => `${baseUrl}${safeCallbackPath(url, baseUrl)}`,
      async signIn({ user, account }) {
        if (account?.provider !== "oidc" || !oidc) return true;
        const profile = user as unknown as { id: string; email: string; name: string; groups: unknown };
        if (!profile.email) return false;
        const dbUser = await signInOidcUser(
          prisma,
          { sub: profile.id, email: profile.email, name: profile.name, groups: profile.groups },
          oidc.roleMap,
          request,
        );
        return dbUser !== null;
      },
      async jwt({ token, user, account }) {
        if (user && account) {
          const id =
            account.provider === "oidc"
              ? (await prisma.user.findUnique({ where: { externalId: user.id } }))?.id
              : user.id;
          if (!id) return { sub: undefined };
          const authTime = Date.now();
          const session = await startSession(prisma, {
            userId: id,
            ip: request.ip,
            maxAgeSeconds: services.auth.maxAgeSeconds,
            now: authTime,
          });
          return { sub: id, sid: session.id, email: user.email, name: user.name, authTime, provider: account.provider };
        }
        return token;
      },
      session({ session, token }) {
        return { ...session, user: { ...session.user, id: token.sub } };
      },
    },
    events: {
      // Ends the session on the server (a copy of the cookie no longer works) and its sockets.
      async signOut({ token }) {
        const userId = typeof token?.sub === "string" ? token.sub : null;
        if (!userId) return;
        const sessionId = typeof token?.sid === "string" ? token.sid : null;
        const user = await prisma.user.findUnique({ where: { id: userId } });
        await prisma.$transaction(async (tx) => {
          if (sessionId) await endSessions(tx, { sessionId }, "signed_out");
          await recordAudit(
            tx,
            {
              userId,
              email: user?.email ?? null,
              roles: user ? [...user.roles] : [],
              ip: request.ip,
              traceId: request.traceId,
            },
            {
              action: "auth.signed_out",
              entityType: "User",
              entityId: userId,
              after: { sessionId },
            },
          );
        });
        if (sessionId) services.events.sessionsEnded({ sessionId });
      },
    },
    logger: {
      error: (code, metadata) =>
        log.error(
          {
            action: "auth.library_error",
            metadata: { code, detail: metadata instanceof Error ? metadata.message : metadata },
          },
          `next-auth: ${code}`,
        ),
      warn: (code) => log.warn({ action: "auth.library_warning", metadata: { code } }, `next-auth: ${code}`),
      debug: () => {},
    },
  };
}
