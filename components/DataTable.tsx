"use client";
/**
 * The panel's one data table: TanStack Table v9 (headless; it owns sorting and filtering, this file
 * owns the markup) with sortable headers, a search box, and the sort and search kept in the URL
 * (`?q=…&sort=name` or `sort=-name`) so a filtered view can be shared and survives a reload.
 *
 * Columns are built with `dataTableColumns<Row>()`; a column sorts by its accessor value unless it
 * sets `enableSorting: false`; the search covers the columns whose `meta.searchable` is true.
 *
 * With `server`, the rows come already searched, sorted and paged by the server (the overview with
 * hundreds of services): the table keeps the same URL (`q`, `sort`, and `page`), from which the page
 * builds its query, shows the server's counts, and adds a pager.
 *
 * With `detail`, a row may be followed by a full-width row of its own details (a deployment's
 * approvals); the detail row goes where its row goes when the table is sorted or searched.
 */
import {
  columnFilteringFeature,
  createColumnHelper,
  createFilteredRowModel,
  createSortedRowModel,
  filterFn_includesString,
  globalFilteringFeature,
  rowSortingFeature,
  sortFn_alphanumeric,
  sortFn_basic,
  sortFn_text,
  tableFeatures,
  useTable,
  type ColumnDef,
  type RowData,
  type SortingState,
} from "@tanstack/react-table";
import { usePathname, useSearchParams } from "next/navigation";
import { Fragment, useCallback, useMemo, useState, type ReactNode } from "react";
import { formatDateTime } from "../lib/format";
import { Icon } from "./Icon";

export const dataTableFeatures = tableFeatures({
  columnFilteringFeature,
  globalFilteringFeature,
  rowSortingFeature,
  filteredRowModel: createFilteredRowModel(),
  sortedRowModel: createSortedRowModel(),
  filterFns: { includesString: filterFn_includesString },
  sortFns: { alphanumeric: sortFn_alphanumeric, text: sortFn_text, basic: sortFn_basic },
});
export type DataTableFeatures = typeof dataTableFeatures;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- columns of one table have different value types
export type DataTableColumn<T extends RowData> = ColumnDef<DataTableFeatures, T, any>;

/** A typed column helper for one row type. */
export function dataTableColumns<T extends RowData>() {
  return createColumnHelper<DataTableFeatures, T>();
}

/**
 * A column of a moment (a last sign-in, a token's last use): sorted by time, shown to the second,
 * and `never` (muted) when there is none, which sorts first.
 */
export function momentColumn<T extends RowData>(
  column: ReturnType<typeof dataTableColumns<T>>,
  options: { id: string; header: string; at: (row: T) => string | Date | null; never: string },
): DataTableColumn<T> {
  return column.accessor(
    (row) => {
      const at = options.at(row);
      return at ? new Date(at).getTime() : 0;
    },
    {
      id: options.id,
      header: options.header,
      sortFn: "basic",
      cell: (info) => {
        const at = options.at(info.row.original);
        return <span className="muted">{at ? formatDateTime(at) : options.never}</span>;
      },
    },
  );
}

function readSort(value: string | null): SortingState {
  if (!value) return [];
  return value
    .split(",")
    .filter(Boolean)
    .map((part) => (part.startsWith("-") ? { id: part.slice(1), desc: true } : { id: part, desc: false }));
}

function writeSort(sorting: SortingState): string {
  return sorting.map((s) => `${s.desc ? "-" : ""}${s.id}`).join(",");
}

/** The server's answer to the table's URL: the rows are one page of `matching`. */
export interface ServerPaging {
  /** Rows that match the search and filters. */
  matching: number;
  /** Rows without any search or filter. */
  total: number;
  /** From 1. */
  page: number;
  pageCount: number;
  /** Whether the rows shown are still those of an earlier URL. */
  stale?: boolean;
}

export interface DataTableProps<T extends RowData> {
  /** The table's accessible name (also the search box's). */
  label: string;
  data: T[];
  columns: DataTableColumn<T>[];
  getRowId: (row: T) => string;
  /** A search box over the searchable columns; its placeholder. */
  searchPlaceholder?: string;
  /** Sort when the URL names none. */
  defaultSort?: SortingState;
  /** Prefix of the URL parameters, for two tables on one page (default none: `q`, `sort`). */
  urlPrefix?: string;
  /** More controls beside the search box (filters the page applies to `data` itself). */
  toolbar?: ReactNode;
  /** Shown in place of the rows when the search or filters leave none. */
  empty?: ReactNode;
  rowProps?: (row: T) => Record<string, string | undefined>;
  /** A full-width row after the row (spanning every column), or null for a row with nothing more to show. */
  detail?: (row: T) => ReactNode | null;
  /** `data-testid` of the <table> itself, for pages whose specs find the table by it. */
  testId?: string;
  className?: string;
  server?: ServerPaging;
}

export function DataTable<T extends RowData>({
  label,
  data,
  columns,
  getRowId,
  searchPlaceholder,
  defaultSort = [],
  urlPrefix = "",
  toolbar,
  empty,
  rowProps,
  detail,
  testId,
  className,
  server,
}: DataTableProps<T>) {
  const pathname = usePathname();
  const params = useSearchParams();
  const qKey = `${urlPrefix}q`;
  const sortKey = `${urlPrefix}sort`;
  const pageKey = `${urlPrefix}page`;
  const [globalFilter, setGlobalFilterState] = useState(() => params.get(qKey) ?? "");
  const [sorting, setSortingState] = useState<SortingState>(() =>
    params.has(sortKey) ? readSort(params.get(sortKey)) : defaultSort,
  );

  const writeUrl = useCallback(
    (key: string, value: string) => {
      const next = new URLSearchParams(window.location.search);
      if (value) next.set(key, value);
      else next.delete(key);
      // Another search or order starts again from the first page.
      if (key !== pageKey) next.delete(pageKey);
      const query = next.toString();
      // The native history call (which Next's router follows) changes window.location at once: a second write
      // right after, such as the overview's state filter, then starts from this one and does not bring back a stale value.
      window.history.replaceState(null, "", query ? `${pathname}?${query}` : pathname);
    },
    [pathname, pageKey],
  );
  const setGlobalFilter = useCallback(
    (updater: string | ((old: string) => string)) =>
      setGlobalFilterState((old) => {
        const value = typeof updater === "function" ? updater(old) : updater;
        writeUrl(qKey, value);
        return value;
      }),
    [writeUrl, qKey],
  );
  const setSorting = useCallback(
    (updater: SortingState | ((old: SortingState) => SortingState)) =>
      setSortingState((old) => {
        const value = typeof updater === "function" ? updater(old) : updater;
        writeUrl(sortKey, writeSort(value));
        return value;
      }),
    [writeUrl, sortKey],
  );

  const table = useTable({
    features: dataTableFeatures,
    columns,
    data,
    getRowId: (row) => getRowId(row),
    state: { globalFilter, sorting },
    onGlobalFilterChange: setGlobalFilter,
    onSortingChange: setSorting,
    globalFilterFn: "includesString",
    getColumnCanGlobalFilter: (column) =>
      (column.columnDef.meta as { searchable?: boolean } | undefined)?.searchable === true,
    enableSortingRemoval: true,
    manualSorting: server !== undefined,
    manualFiltering: server !== undefined,
  });
  const rows = table.getRowModel().rows;
  const columnCount = table.getAllLeafColumns().length;
  const shown = server ? server.matching : rows.length;
  const total = server ? server.total : data.length;
  const searchId = useMemo(() => `search-${label.replace(/\W+/g, "-").toLowerCase()}`, [label]);

  return (
    <div className={`data-table ${className ?? ""}`}>
      {(searchPlaceholder || toolbar) && (
        <div className="data-table-toolbar">
          {searchPlaceholder && (
            <input
              id={searchId}
              type="search"
              aria-label={`Search ${label.toLowerCase()}`}
              placeholder={searchPlaceholder}
              value={globalFilter}
              onChange={(e) => table.setGlobalFilter(e.target.value)}
            />
          )}
          {toolbar}
          <span className="muted data-table-count" aria-live="polite">
            {shown === total ? `${total} rows` : `${shown} of ${total} rows`}
          </span>
        </div>
      )}
      <div className="data-table-scroll" aria-busy={server?.stale ? true : undefined}>
        <table aria-label={label} data-testid={testId}>
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  const canSort = header.column.getCanSort();
                  return (
                    <th
                      key={header.id}
                      aria-sort={
                        sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : canSort ? "none" : undefined
                      }
                    >
                      {header.isPlaceholder ? null : canSort ? (
                        <button type="button" className="sort-button" onClick={header.column.getToggleSortingHandler()}>
                          <table.FlexRender header={header} />
                          {sorted && (
                            <Icon name={sorted === "asc" ? "sort-asc" : "sort-desc"} size={12} className="sort-mark" />
                          )}
                        </button>
                      ) : (
                        <table.FlexRender header={header} />
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {rows.map((row) => {
              const more = detail?.(row.original) ?? null;
              return (
                <Fragment key={row.id}>
                  <tr {...(rowProps?.(row.original) ?? {})}>
                    {row.getAllCells().map((cell) => (
                      <td key={cell.id}>
                        <table.FlexRender cell={cell} />
                      </td>
                    ))}
                  </tr>
                  {more !== null && (
                    <tr className="data-table-detail">
                      <td colSpan={columnCount}>{more}</td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
        {rows.length === 0 && total > 0 && <p className="muted data-table-empty">{empty ?? "Nothing matches."}</p>}
      </div>
      {server && server.pageCount > 1 && (
        <Pager page={server.page} pageCount={server.pageCount} onPage={(page) => writeUrl(pageKey, String(page))} />
      )}
    </div>
  );
}

function Pager({ page, pageCount, onPage }: { page: number; pageCount: number; onPage: (page: number) => void }) {
  return (
    <nav className="data-table-pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span aria-current="page">
        Page {page} of {pageCount}
      </span>
      <button type="button" disabled={page >= pageCount} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}
