/**
 * An environment's Prometheus settings as people enter them: the server's URL, an optional bearer
 * token, and three PromQL series selectors (templates) with {{slot}}, {{service}} and {{environment}}
 * placeholders. The defaults follow the common conventions: `http_requests_total` with a `code` label
 * and the `http_request_duration_seconds` histogram, labelled with the slot by the application and
 * with the service and environment by Prometheus's scrape configuration. Pure.
 */
import { z } from "zod";

export const PLACEHOLDERS = ["slot", "service", "environment"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const SELECTOR_LABELS = 'service="{{service}}", environment="{{environment}}", slot="{{slot}}"';
export const DEFAULT_QUERIES = {
  requestsQuery: `http_requests_total{${SELECTOR_LABELS}}`,
  errorsQuery: `http_requests_total{${SELECTOR_LABELS}, code=~"5.."}`,
  latencyQuery: `http_request_duration_seconds_bucket{${SELECTOR_LABELS}}`,
} as const;
export type QueryField = keyof typeof DEFAULT_QUERIES;
export const QUERY_FIELDS = Object.keys(DEFAULT_QUERIES) as QueryField[];

/** What each query is, in words, for messages. */
export const QUERY_NAMES: Record<QueryField, string> = {
  requestsQuery: "the requests query",
  errorsQuery: "the errors query",
  latencyQuery: "the latency query",
};

export const DEFAULT_OUTAGE_LIMIT_SECONDS = 60;

/** Placeholders a template uses that do not exist, e.g. ["{{version}}"]. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)]
    .filter((m) => !(PLACEHOLDERS as readonly string[]).includes(m[1]!))
    .map((m) => m[0]);
}

/** The messages are predicates: the refusal puts the field's words before them ("Requests query: must …"). */
function template() {
  return z
    .string({ error: "must be text" })
    .trim()
    .min(1, "must not be empty")
    .max(2000, "must be at most 2000 characters")
    .superRefine((value, ctx) => {
      const unknown = unknownPlaceholders(value);
      if (unknown.length)
        ctx.addIssue({
          code: "custom",
          message: `uses ${unknown.join(", ")}; the placeholders are {{slot}}, {{service}} and {{environment}}`,
        });
      // Without the slot, both slots' series would be judged as one: the new release against itself.
      else if (!/\{\{\s*slot\s*\}\}/.test(value))
        ctx.addIssue({ code: "custom", message: 'must select one slot with {{slot}}, e.g. slot="{{slot}}"' });
    });
}

const urlSchema = z
  .string({ error: "must be text" })
  .trim()
  .min(1, "must not be empty")
  .max(500, "must be at most 500 characters")
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({
        code: "custom",
        message: "must be an http:// or https:// URL, e.g. http://prometheus:9090",
      });
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      ctx.addIssue({ code: "custom", message: "must start with http:// or https://" });
    // Credentials in a URL end up in logs and verdicts; the token has a field of its own.
    else if (url.username || url.password)
      ctx.addIssue({
        code: "custom",
        message: "must not hold credentials; put a bearer token in its own field",
      });
    else if (url.search || url.hash)
      ctx.addIssue({
        code: "custom",
        message: "must be the server's address without a query or fragment, e.g. http://prometheus:9090",
      });
  });

/** A bearer token: one header value, so printable and without spaces. */
const bearerTokenSchema = z
  .string({ error: "must be text" })
  .min(1, "must not be empty (send null to remove it)")
  .max(4096, "must be at most 4096 characters")
  .regex(/^[\x21-\x7e]+$/, "must be printable characters without spaces");

export const prometheusSettingsInput = z.object({
  environmentId: z.string().uuid("must be an environment id"),
  url: urlSchema,
  /** A new token; null removes the stored one; absent keeps it. */
  bearerToken: bearerTokenSchema.nullable().optional(),
  requestsQuery: template().default(DEFAULT_QUERIES.requestsQuery),
  errorsQuery: template().default(DEFAULT_QUERIES.errorsQuery),
  latencyQuery: template().default(DEFAULT_QUERIES.latencyQuery),
  outageLimitSeconds: z
    .number({ error: "must be a number of seconds" })
    .int("must be whole seconds")
    .min(1, "must be between 1 and 3600 seconds")
    .max(3600, "must be between 1 and 3600 seconds")
    .default(DEFAULT_OUTAGE_LIMIT_SECONDS),
});
export type PrometheusSettingsInput = z.infer<typeof prometheusSettingsInput>;

/** The settings the source runs with (the stored row's fields). */
export interface PrometheusSettings {
  url: string;
  bearerToken: string | null;
  requestsQuery: string;
  errorsQuery: string;
  latencyQuery: string;
  outageLimitSeconds: number;
}
