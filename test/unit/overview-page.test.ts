import { describe, expect, it } from "vitest";
import {
  attention,
  environmentOrder,
  overviewPage,
  overviewQuery,
  type CellFacts,
} from "../../server/overview-page.ts";
import { describeZodError } from "../../server/trpc/init.ts";

const cell = (partial: Partial<CellFacts> = {}): CellFacts => ({
  name: "staging",
  position: 0,
  liveVersion: "1.0.0",
  alerts: [],
  activeDeployment: null,
  lastDeployment: null,
  pendingChanges: null,
  ...partial,
});

describe("attention: lower is more urgent", () => {
  it.each<[string, CellFacts | undefined, number]>([
    ["an open alert", cell({ alerts: [{}], activeDeployment: {} }), 0],
    ["a deployment in progress", cell({ activeDeployment: {}, pendingChanges: {} }), 1],
    ["a failed last deployment", cell({ lastDeployment: { status: "rolled_back" } }), 2],
    ["a change awaiting approval", cell({ pendingChanges: {}, lastDeployment: { status: "succeeded" } }), 3],
    ["a release live and nothing else", cell(), 4],
    ["nothing live yet", cell({ liveVersion: null }), 5],
    ["no such environment", undefined, 9],
  ])("%s → %i", (_what, c, level) => expect(attention(c)).toBe(level));
});

describe("the overview's query", () => {
  it("defaults to the first page of 50, all services, by name", () => {
    expect(overviewQuery.parse(undefined)).toEqual({ search: "", show: "all", sort: "service", page: 1, pageSize: 50 });
  });

  it.each([
    [{ pageSize: 0 }, "Page size: must be at least 1"],
    [{ pageSize: 500 }, "Page size: must be at most 200"],
    [{ page: 1.5 }, "Page: must be a whole number"],
    [{ show: "sometimes" }, "Show: must be one of all, deploying, approvals, failed, alerts"],
    [{ sort: "name" }, 'Sort: must be "service" or "env:" and an environment name'],
    [{ search: "x".repeat(201) }, "Search: must be at most 200 characters"],
  ])("refuses %j, naming the field in words", (input, message) => {
    const result = overviewQuery.safeParse(input);
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toContain(message);
  });
});

describe("environmentOrder: promotion order by average position, then name", () => {
  it.each<[string, [string, number][][], string[]]>([
    [
      "the usual three",
      [
        [
          ["production", 2],
          ["development", 0],
          ["staging", 1],
        ],
      ],
      ["development", "staging", "production"],
    ],
    [
      "a name at different positions",
      [
        [
          ["qa", 1],
          ["production", 2],
        ],
        [
          ["qa", 0],
          ["production", 1],
        ],
      ],
      ["qa", "production"],
    ],
    ["ties by name", [[["b", 0]], [["a", 0]]], ["a", "b"]],
  ])("%s", (_what, services, order) => {
    const facts = services.map((envs, i) => ({
      slug: `s${i}`,
      name: `S${i}`,
      environments: envs.map(([name, position]) => cell({ name, position })),
    }));
    expect(environmentOrder(facts)).toEqual(order);
  });
});

describe("overviewPage", () => {
  const services = ["Service 10", "Service 9", "Billing", "Checkout"].map((name, i) => ({
    slug: name.toLowerCase().replace(" ", "-"),
    name,
    environments: [cell({ activeDeployment: i === 3 ? {} : null })],
  }));
  const page = (query: Partial<ReturnType<typeof overviewQuery.parse>>) =>
    overviewPage(services, overviewQuery.parse(query)).services.map((s) => s.name);

  it.each<[string, Partial<ReturnType<typeof overviewQuery.parse>>, string[]]>([
    ["by name, numbers in order", {}, ["Billing", "Checkout", "Service 9", "Service 10"]],
    ["by name, descending", { sort: "-service" }, ["Service 10", "Service 9", "Checkout", "Billing"]],
    ["by attention, names within a level", { sort: "env:staging" }, ["Checkout", "Billing", "Service 9", "Service 10"]],
    [
      "by attention descending, names still ascending within it",
      { sort: "-env:staging" },
      ["Billing", "Service 9", "Service 10", "Checkout"],
    ],
    ["searched by name, any case", { search: "SERVICE" }, ["Service 9", "Service 10"]],
    ["searched by slug", { search: "service-1" }, ["Service 10"]],
    ["filtered to what deploys", { show: "deploying" }, ["Checkout"]],
    ["a page", { pageSize: 3, page: 2 }, ["Service 10"]],
    ["a page past the last answers the last", { pageSize: 3, page: 9 }, ["Service 10"]],
  ])("%s", (_what, query, names) => expect(page(query)).toEqual(names));
});
