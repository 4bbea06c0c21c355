/**
 * A field's path in words, as messages people read name it; the path itself travels beside the
 * message for machines.
 */
import { describe, expect, it } from "vitest";
import { fieldLabel, fieldWords } from "../../server/field-words.ts";

describe("fieldWords", () => {
  it.each<[string, string | (string | number)[], string]>([
    ["a plain name", "email", "email"],
    ["camelCase split and lower-cased", "performanceAssessment", "performance assessment"],
    ["a trailing Id dropped", "releaseId", "release"],
    ["a trailing Id dropped from a longer name", "changeRequestId", "change request"],
    ["an id on its own", "id", "ID"],
    ["a trailing unit read as 'in' the unit", "durationMinutes", "duration in minutes"],
    ["a unit after 'in' not read twice", "expiresInDays", "expires in days"],
    ["an abbreviated unit in full", "marginPp", "margin in percentage points"],
    ["a unit on its own stays itself", "days", "days"],
    ["min and max in full", "minRequests", "minimum requests"],
    ["an override where splitting reads badly", "rrule", "recurrence rule"],
    ["an acronym in capitals", "url", "URL"],
    ["an acronym inside a name", "roleArn", "role ARN"],
    ["a plural acronym", "listenerArns", "listener ARNs"],
    ["a PascalCase model name", "ChangeRequest", "change request"],
    ["a nested name, its parents in parentheses", "policy.gates.minRequests", "minimum requests (policy, gates)"],
    ["a list position counted from 1", "scopes.1", "scopes (item 2)"],
    ["a name inside a list item", "smokeTests.0.path", "path (smoke tests, item 1)"],
    ["brackets as people write them", "listenerArns[1]", "listener ARNs (item 2)"],
    [
      "brackets inside a nested path",
      "highResolutionMetrics.dimensions[0].value",
      "value (high resolution metrics, dimensions, item 1)",
    ],
    ["a path as zod gives it", ["gates", "latency", "maxP95Ms"], "maximum p95 in ms (gates, latency)"],
    ["an acronym that is a whole name", "commitSha", "commit SHA"],
    ["a path of positions only", [0], "item 1"],
    ["the empty path: the whole input", [], "input"],
    ["the empty string: the whole input", "", "input"],
  ])("%s: %j → %s", (_name, path, words) => {
    expect(fieldWords(path)).toBe(words);
  });
});

describe("fieldLabel", () => {
  it.each<[string, string]>([
    ["durationMinutes", "Duration in minutes"],
    ["url", "URL"],
    ["filter.from", "From (filter)"],
    ["", "Input"],
  ])("%s → %s", (path, label) => {
    expect(fieldLabel(path)).toBe(label);
  });
});
