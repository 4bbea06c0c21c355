import { describe, expect, it } from "vitest";
import { detailKind, FIGURES_EVERY_MS, isDue, type Sent } from "../../server/releases/update-pacing.ts";

const last: Sent = { kind: "Step # (#%): # s left", text: "Step 1 (10%): 3,412 s left", at: 10_000 };

describe("isDue", () => {
  it.each([
    ["nothing went out yet", undefined, "Step 1 (10%): 3,412 s left", 10_000, true],
    ["the same text again, however late", last, "Step 1 (10%): 3,412 s left", 60_000, false],
    ["new figures within the second", last, "Step 1 (10%): 3,411 s left", 10_999, false],
    ["new figures a second later", last, "Step 1 (10%): 3,411 s left", 11_000, true],
    ["new words at once", last, "Waiting for metrics", 10_001, true],
    ["another phase at once", last, "Validating: 59 s left", 10_001, true],
  ])("%s", (_what, previous, text, now, due) => {
    expect(isDue(previous, { kind: detailKind(text), text }, now, FIGURES_EVERY_MS)).toBe(due);
  });
});

describe("detailKind", () => {
  it.each([
    ["Step 2 (50%): 1,200.5 s left", "Step # (#%): # s left"],
    ["green served 236 requests, live 2,400", "green served # requests, live #"],
    ["Waiting for metrics", "Waiting for metrics"],
  ])("%s", (detail, kind) => expect(detailKind(detail)).toBe(kind));
});
