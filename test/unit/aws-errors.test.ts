import { describe, expect, it } from "vitest";
import { describeAwsFailure } from "../../server/targets/aws-errors.ts";

const withFields = (error: Error, fields: Record<string, unknown>) => Object.assign(error, fields);

describe("describeAwsFailure", () => {
  it.each([
    [
      "a refused connection (the SDK's own error, after its retries)",
      withFields(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED", $metadata: { attempts: 3 } }),
      "AWS could not be reached (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1",
    ],
    [
      "no credentials anywhere",
      withFields(new Error("Could not load credentials from any providers"), {
        name: "CredentialsProviderError",
        tryNextLink: false,
      }),
      "AWS credentials could not be loaded: Could not load credentials from any providers",
    ],
    [
      "AWS refusing the request",
      withFields(new Error("User is not authorized to perform: ecs:DescribeServices"), {
        name: "AccessDeniedException",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      }),
      "AWS answered AccessDeniedException: User is not authorized to perform: ecs:DescribeServices",
    ],
    [
      "AWS failing",
      withFields(new Error("Service Unavailable"), {
        name: "ServiceUnavailableException",
        $fault: "server",
        $metadata: { httpStatusCode: 503 },
      }),
      "AWS answered ServiceUnavailableException: Service Unavailable",
    ],
  ])("names %s", (_name, error, sentence) => {
    expect(describeAwsFailure(error)).toBe(sentence);
  });

  it.each([
    ["our own bug", new TypeError("cannot read properties of undefined")],
    ["a database error", withFields(new Error("duplicate key"), { code: "P2002", meta: {} })],
    ["nothing", undefined],
  ])("is null for %s", (_name, error) => {
    expect(describeAwsFailure(error)).toBeNull();
  });
});
