/**
 * Static AWS credentials in the environment for the duration of a test file, so the SDK's default
 * chain finds them first and never asks a profile or the instance metadata service (no network).
 * The variables are restored afterwards.
 */
import { afterAll, beforeAll } from "vitest";

const VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_EC2_METADATA_DISABLED",
];

export function useStaticAwsCredentials(
  accessKeyId = "AKIDEXAMPLE",
  secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
): void {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const k of VARIABLES) saved[k] = process.env[k];
    process.env.AWS_ACCESS_KEY_ID = accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    for (const k of VARIABLES) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}
