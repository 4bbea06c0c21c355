/**
 * Which services the overview shows, in what order, a page at a time: its search, its "Show" filter,
 * its sort (by service name, or by how much a column's cells need attention) and its pages. The
 * server applies these rules, so a panel with 500 services sends the browser one page, not 1,500
 * cells; the table reads the same rules for its labels and its cells' attention marks.
 */
import { z } from "zod";

/** What a cell must say for the rules below (a subset of the overview's cell). */
export interface CellFacts {
  name: string;
  position: number;
  liveVersion: string | null;
  alerts: readonly unknown[];
  activeDeployment: unknown;
  lastDeployment: { status: string } | null;
  pendingChanges: unknown;
}

export interface ServiceFacts<Cell extends CellFacts = CellFacts> {
  slug: string;
  name: string;
  environments: Cell[];
}

const FAILED = new Set(["failed", "rolled_back", "aborted"]);

/** Lower is more urgent: a column sorted ascending puts the cells to look at first. */
export function attention(cell: CellFacts | undefined): number {
  if (!cell) return 9;
  if (cell.alerts.length) return 0;
  if (cell.activeDeployment) return 1;
  if (cell.lastDeployment && FAILED.has(cell.lastDeployment.status)) return 2;
  if (cell.pendingChanges) return 3;
  if (!cell.liveVersion) return 5;
  return 4;
}

export const OVERVIEW_SHOWS = {
  all: { label: "All services", test: () => true },
  deploying: { label: "Deploying now", test: (c: CellFacts) => Boolean(c.activeDeployment) },
  approvals: { label: "Awaiting approval", test: (c: CellFacts) => Boolean(c.pendingChanges) },
  failed: {
    label: "Last deployment failed",
    test: (c: CellFacts) => c.lastDeployment !== null && FAILED.has(c.lastDeployment.status),
  },
  alerts: { label: "With open alerts", test: (c: CellFacts) => c.alerts.length > 0 },
} as const;
export type OverviewShow = keyof typeof OVERVIEW_SHOWS;
const SHOW_VALUES = Object.keys(OVERVIEW_SHOWS) as [OverviewShow, ...OverviewShow[]];

export const OVERVIEW_PAGE_SIZE = 50;
export const OVERVIEW_MAX_PAGE_SIZE = 200;

/** The column sort of the table's URL: "service", "-service", "env:production", "-env:production". */
const SORT = /^-?(service|env:[^,]{1,100})$/;

export const overviewQuery = z
  .object({
    search: z.string().trim().max(200, "must be at most 200 characters").default(""),
    show: z.enum(SHOW_VALUES, { message: `must be one of ${SHOW_VALUES.join(", ")}` }).default("all"),
    sort: z
      .string()
      .regex(SORT, 'must be "service" or "env:" and an environment name, with "-" in front for descending')
      .default("service"),
    /** From 1. A page past the last answers the last. */
    page: z.number().int("must be a whole number").min(1, "must be at least 1").max(1_000_000).default(1),
    pageSize: z
      .number()
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .max(OVERVIEW_MAX_PAGE_SIZE, `must be at most ${OVERVIEW_MAX_PAGE_SIZE}`)
      .default(OVERVIEW_PAGE_SIZE),
  })
  .default({
    search: "",
    show: "all",
    sort: "service",
    page: 1,
    pageSize: OVERVIEW_PAGE_SIZE,
  });
export type OverviewQuery = z.output<typeof overviewQuery>;

/** Environment names in promotion order: by their average position across services, then by name. */
export function environmentOrder(services: readonly ServiceFacts[]): string[] {
  const positions = new Map<string, { sum: number; n: number }>();
  for (const s of services)
    for (const e of s.environments) {
      const p = positions.get(e.name) ?? { sum: 0, n: 0 };
      positions.set(e.name, { sum: p.sum + e.position, n: p.n + 1 });
    }
  const average = (name: string) => positions.get(name)!.sum / positions.get(name)!.n;
  return [...positions.keys()].sort((a, b) => average(a) - average(b) || a.localeCompare(b));
}

const byName = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

export interface OverviewPage<S> {
  services: S[];
  /** Services that match the search and the filter. */
  matching: number;
  /** Services in the panel. */
  total: number;
  /** The page answered (the last one when the one asked for is past it). */
  page: number;
  pageSize: number;
  pageCount: number;
  /** Every environment name across the panel, in promotion order (the table's columns). */
  environments: string[];
}

/** One page of the services, searched by name or slug, filtered by what is happening in any cell, and sorted. */
export function overviewPage<S extends ServiceFacts>(services: readonly S[], query: OverviewQuery): OverviewPage<S> {
  const search = query.search.toLowerCase();
  const show = OVERVIEW_SHOWS[query.show];
  const matching = services.filter(
    (s) =>
      (!search || s.name.toLowerCase().includes(search) || s.slug.includes(search)) &&
      (query.show === "all" || s.environments.some((e) => show.test(e))),
  );
  const desc = query.sort.startsWith("-");
  const column = desc ? query.sort.slice(1) : query.sort;
  const env = column.startsWith("env:") ? column.slice(4) : null;
  const name = (a: S, b: S) => byName.compare(a.name, b.name) || a.slug.localeCompare(b.slug);
  const direction = desc ? -1 : 1;
  type Keyed = { s: S; key: number };
  const compare =
    env === null
      ? (a: Keyed, b: Keyed) => direction * name(a.s, b.s)
      : // Within one level of attention, services stay in name order whichever way the column is sorted.
        (a: Keyed, b: Keyed) => direction * (a.key - b.key) || name(a.s, b.s);
  const sorted = matching
    .map((s) => ({ s, key: env === null ? 0 : attention(s.environments.find((e) => e.name === env)) }))
    .sort(compare)
    .map(({ s }) => s);
  const pageCount = Math.max(1, Math.ceil(sorted.length / query.pageSize));
  const page = Math.min(query.page, pageCount);
  return {
    services: sorted.slice((page - 1) * query.pageSize, page * query.pageSize),
    matching: matching.length,
    total: services.length,
    page,
    pageSize: query.pageSize,
    pageCount,
    environments: environmentOrder(services),
  };
}
