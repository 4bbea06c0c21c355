/**
 * The PromQL a window's gates run: each template with its placeholders filled in for one slot,
 * wrapped in increase() over exactly the window (so the counts are the window's, whatever the scrape
 * interval), summed, and for latency summed per bucket bound (`le`). Pure.
 */
import type { Slot } from "../driver.ts";
import type { PrometheusSettings, QueryField } from "./config.ts";

export interface TemplateValues {
  slot: Slot;
  service: string;
  environment: string;
}

/** A value inside a PromQL double-quoted string: backslashes, quotes and newlines escaped. */
const promqlString = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{\{\s*(slot|service|environment)\s*\}\}/g, (_, name: keyof TemplateValues) =>
    promqlString(values[name]),
  );
}

/** A range Prometheus accepts: whole milliseconds, at least one. */
export function rangeOf(window: { from: Date; to: Date }): string {
  return `${Math.max(1, Math.round(window.to.getTime() - window.from.getTime()))}ms`;
}

export type WindowQueries = Record<QueryField, string>;

export function windowQueries(
  settings: Pick<PrometheusSettings, QueryField>,
  values: TemplateValues,
  window: { from: Date; to: Date },
): WindowQueries {
  const range = rangeOf(window);
  return {
    requestsQuery: `sum(increase(${renderTemplate(settings.requestsQuery, values)}[${range}]))`,
    errorsQuery: `sum(increase(${renderTemplate(settings.errorsQuery, values)}[${range}]))`,
    latencyQuery: `sum by (le) (increase(${renderTemplate(settings.latencyQuery, values)}[${range}]))`,
  };
}
