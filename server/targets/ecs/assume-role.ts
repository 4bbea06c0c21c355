/**
 * Credentials for an environment in another AWS account: the panel's own identity (the SDK's
 * default chain) assumes the environment's role with STS AssumeRole, with its external id and a
 * session name that shows in the other account's CloudTrail.
 *
 * The credentials are kept and shared by every client of the environment's account, and renewed
 * before they expire: once less than REFRESH_BEFORE_MS of their life is left (the SDK also asks for
 * new ones five minutes before expiry), the next call assumes the role again; calls made meanwhile
 * share that one AssumeRole.
 */
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { AssumeRoleSettings } from "./config.ts";

/** What the SDK signs with (the shape of its RoleCredentials). */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type RoleCredentialsProvider = () => Promise<RoleCredentials>;

/** Renew this long before the credentials expire (at least the SDK's own five minutes). */
export const REFRESH_BEFORE_MS = 10 * 60_000;

export interface AssumedRole {
  settings: AssumeRoleSettings;
  /** The credentials of the assumed role (what every client of the environment signs with). */
  credentials: RoleCredentialsProvider;
}

/** Whether credentials expiring at `expiration` must be renewed at `now`. */
export function needsRenewal(expiration: Date | undefined, now: Date): boolean {
  return expiration === undefined || expiration.getTime() - now.getTime() <= REFRESH_BEFORE_MS;
}

export function assumeRoleCredentials(
  sts: STSClient,
  settings: AssumeRoleSettings,
  now: () => Date = () => new Date(),
): RoleCredentialsProvider {
  let current: RoleCredentials | null = null;
  let renewing: Promise<RoleCredentials> | null = null;
  const renew = async (): Promise<RoleCredentials> => {
    try {
      const out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: settings.roleArn,
          RoleSessionName: settings.sessionName,
          DurationSeconds: settings.durationSeconds,
          ...(settings.externalId ? { ExternalId: settings.externalId } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("STS returned no credentials");
      current = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
      return current;
    } catch (error) {
      const e = error as Error;
      throw new Error(
        `Could not assume role ${settings.roleArn}${settings.externalId ? " (with the configured external id)" : ""}: ${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}`,
        { cause: error },
      );
    }
  };
  return async () => {
    if (current && !needsRenewal(current.expiration, now())) return current;
    renewing ??= renew().finally(() => (renewing = null));
    return renewing;
  };
}
