/**
 * What went wrong when the AWS SDK threw: AWS could not be reached (a network error on the way), the
 * credentials could not be found, or AWS answered with an error. Any of them is AWS's side of a
 * request, which the panel reports as such (502, naming the error) rather than as a fault of its own.
 * Pure: it reads the shapes the SDK (Smithy) gives its errors.
 */

type SdkErrorShape = { name?: unknown; message?: unknown; code?: unknown; $metadata?: unknown; $fault?: unknown };

/** A sentence naming the AWS failure, or null when the error did not come from the AWS SDK. */
export function describeAwsFailure(error: unknown): string | null {
  if (!error || typeof error !== "object") return null;
  const { name, message, code, $metadata, $fault } = error as SdkErrorShape;
  const text = typeof message === "string" && message ? message : (typeof name === "string" && name) || "unknown error";
  if (name === "CredentialsProviderError") return `AWS credentials could not be loaded: ${text}`;
  if ($metadata === undefined || $metadata === null) return null;
  if ($fault === "client" || $fault === "server") return `AWS answered ${String(name)}: ${text}`;
  // A network failure carries the SDK's $metadata (attempts made) but no fault from AWS. The ECS
  // clients already say so, naming the call and the endpoint; others get the sentence here.
  if (text.startsWith("AWS could not be reached")) return text;
  return `AWS could not be reached${typeof code === "string" ? ` (${code})` : ""}: ${text}`;
}
