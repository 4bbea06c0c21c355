/**
 * 10,000 generated inputs across every tRPC procedure, over HTTP, from three kinds of caller (issue
 * 10, item 17): none may get a 5xx. The seed is fixed, so a finding reproduces; `npm run bench --
 * fuzz` runs more, with other seeds, and prints the counts by status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeStatuses, fuzzProcedures, generateCalls, sendCalls, type IdPool } from "../helpers/fuzz.ts";
import { prepareFuzzWorld } from "../helpers/fuzz-panel.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";

const RUNS = 10_000;
let t: TestPanel;
let world: { pool: IdPool; cookies: { all: string; viewer: string } };

beforeAll(async () => {
  // Quiet: ten thousand request lines at debug level would be most of the run's time.
  t = await startTestPanel({ LOG_LEVEL: "warn" });
  world = await prepareFuzzWorld(t.panel, t.url);
});
afterAll(() => t?.close());

describe("the API under generated input", () => {
  it(`answers ${RUNS} generated calls across every procedure without a 5xx`, async () => {
    const procedures = fuzzProcedures();
    const calls = generateCalls(RUNS, 20261201, world.pool, procedures);
    // Every procedure is called, most of them many times.
    expect(new Set(calls.map((c) => c.path))).toEqual(new Set(procedures.map((p) => p.path)));
    const report = await sendCalls(t.url, calls, world.cookies);
    expect(report.calls).toBe(RUNS);
    expect(
      report.findings,
      `${describeStatuses(report.byStatus)}\n${JSON.stringify(report.findings.slice(0, 5), null, 1)}`,
    ).toEqual([]);
    // The run got past validation too: some calls succeeded, some were refused for who called.
    expect(report.byStatus["200"]).toBeGreaterThan(0);
    expect(report.byStatus["400"]).toBeGreaterThan(0);
    expect(report.byStatus["401"]).toBeGreaterThan(0);
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  }, 120_000);
});
