/**
 * Credentials for an environment in another AWS account: the panel's own identity (the SDK's
 * default chain) assumes the environment's role with STS AssumeRole, with its external id and a
 * session name that shows in the other account's CloudTrail.
 *
 * The credentials are kept and shared by every client of the environment's account. A pass asks
 * for them before each of its AWS calls (withSignal in clients.ts), with its signal:
 * - from REFRESH_BEFORE_MS before they expire, the role is assumed again in the background, and
 *   calls keep signing with the old credentials meanwhile: an STS that is slow or down holds no pass
 *   while they are still good;
 * - from USABLE_UNTIL_MS before they expire (the SDK stops signing with them then), or before the
 *   first ones, a call waits for the AssumeRole, but only until its pass's signal aborts. The SDK
 *   resolves credentials before its request handler sees the call's abortSignal, so without this a
 *   silent STS would hold the pass for the STS client's whole retry budget.
 * Calls made meanwhile share one AssumeRole, which is stopped once nobody waits for it any more.
 * The SDK asks too (without a signal) when its own copy is within five minutes of expiry, and by
 * then a pass has usually renewed them.
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
/**
 * The role's credentials. `signal`: stop waiting when it aborts (the pass's deadline). The SDK calls
 * a credential provider with arguments of its own, so clients are given a wrapper that passes none.
 */
export type RoleCredentialsProvider = (options?: { signal?: AbortSignal }) => Promise<RoleCredentials>;

/** Start renewing this long before the credentials expire (in the background while they are still usable). */
export const REFRESH_BEFORE_MS = 10 * 60_000;
/** The SDK signs with credentials only until this long before they expire (@smithy/core's identity expiry window). */
export const USABLE_UNTIL_MS = 5 * 60_000;
/** After a background renewal failed, the next one starts no sooner (a denied role is not asked twice a second). */
export const RENEWAL_RETRY_MS = 30_000;

export interface AssumedRole {
  settings: AssumeRoleSettings;
  /** The credentials of the assumed role (what every client of the environment signs with). */
  credentials: RoleCredentialsProvider;
}

const left = (expiration: Date | undefined, now: Date) =>
  expiration === undefined ? 0 : expiration.getTime() - now.getTime();

/** Whether credentials expiring at `expiration` must be renewed at `now`. */
export function needsRenewal(expiration: Date | undefined, now: Date): boolean {
  return left(expiration, now) <= REFRESH_BEFORE_MS;
}

/** One AssumeRole in flight, and who waits for it: the signals of passes, or someone without one. */
interface Renewal {
  promise: Promise<RoleCredentials>;
  controller: AbortController;
  signals: Set<AbortSignal>;
  /** Someone waits for it whatever it takes (the SDK, a caller without a signal, the background). */
  unbound: boolean;
}

export function assumeRoleCredentials(
  sts: STSClient,
  settings: AssumeRoleSettings,
  now: () => Date = () => new Date(),
): RoleCredentialsProvider {
  let current: RoleCredentials | null = null;
  let renewal: Renewal | null = null;
  let failedAt: number | null = null;
  const role = `${settings.roleArn}${settings.externalId ? " (with the configured external id)" : ""}`;

  const assume = async (signal: AbortSignal): Promise<RoleCredentials> => {
    try {
      const out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: settings.roleArn,
          RoleSessionName: settings.sessionName,
          DurationSeconds: settings.durationSeconds,
          ...(settings.externalId ? { ExternalId: settings.externalId } : {}),
        }),
        { abortSignal: signal },
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("STS returned no credentials");
      current = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
      failedAt = null;
      return current;
    } catch (error) {
      failedAt = now().getTime();
      const e = error as Error;
      // An unanswered call's message already says what happened, naming the call and the endpoint
      // (the STS client's nameFailures); AWS's own errors keep their name (AccessDenied: …).
      const named = e.name && !["Error", "AbortError", "TimeoutError"].includes(e.name) ? `${e.name}: ` : "";
      throw new Error(`Could not assume role ${role}: ${named}${e.message}`, { cause: error });
    }
  };

  const start = (): Renewal => {
    const controller = new AbortController();
    const started: Renewal = {
      controller,
      signals: new Set(),
      unbound: false,
      promise: assume(controller.signal).finally(() => {
        if (renewal === started) renewal = null;
      }),
    };
    // Whoever waits gets the error; a renewal nobody waited for (the background one) fails quietly,
    // and the next call tries again (after RENEWAL_RETRY_MS) or waits for one of its own.
    started.promise.catch(() => undefined);
    renewal = started;
    return started;
  };

  /**
   * Waits for the renewal until `signal` aborts. The AssumeRole itself is stopped once every signal
   * waiting for it has aborted (several calls of one pass wait with the same signal), and those
   * callers then get its error, which names sts:AssumeRole and where it went.
   */
  const wait = (r: Renewal, signal: AbortSignal | undefined): Promise<RoleCredentials> => {
    if (!signal) {
      r.unbound = true;
      return r.promise;
    }
    r.signals.add(signal);
    return new Promise((resolve, reject) => {
      const leave = () => {
        r.signals.delete(signal);
        if (r.signals.size === 0 && !r.unbound) r.controller.abort(signal.reason);
        if (r.controller.signal.aborted) return;
        reject(
          Object.assign(
            new Error(
              `Could not assume role ${role}: stopped before sts:AssumeRole answered (the AssumeRole goes on for the panel's other calls)`,
            ),
            { name: "AbortError" },
          ),
        );
      };
      signal.addEventListener("abort", leave, { once: true });
      r.promise.then(
        (credentials) => {
          signal.removeEventListener("abort", leave);
          resolve(credentials);
        },
        (error: Error) => {
          signal.removeEventListener("abort", leave);
          reject(error);
        },
      );
    });
  };

  return async ({ signal } = {}) => {
    const at = now();
    if (current && !needsRenewal(current.expiration, at)) return current;
    if (current && left(current.expiration, at) > USABLE_UNTIL_MS) {
      // Still good to sign with: renew in the background, nobody waits.
      const retryDue = failedAt === null || at.getTime() - failedAt >= RENEWAL_RETRY_MS;
      if (!renewal && retryDue) start().unbound = true;
      return current;
    }
    signal?.throwIfAborted();
    return wait(renewal ?? start(), signal);
  };
}
