import { describe, expect, it } from "vitest";
import {
  dataPlaneLiveness,
  type DataPlaneLiveness,
  type LivenessInput,
} from "../../server/targets/local/data-plane/liveness.ts";

describe("what a panel makes of its data plane after a failed call", () => {
  it.each<[string, Omit<LivenessInput, "limitMs">, DataPlaneLiveness]>([
    ["its process is gone", { running: false, answered: false, silentMs: 0 }, "gone"],
    [
      "its process is gone, however long it has been silent",
      { running: false, answered: false, silentMs: 60_000 },
      "gone",
    ],
    ["it answers its identity check", { running: true, answered: true, silentMs: 0 }, "answering"],
    ["it answers after a long silence", { running: true, answered: true, silentMs: 60_000 }, "answering"],
    [
      "it runs, silent for 2 s (one missed call on a busy machine)",
      { running: true, answered: false, silentMs: 2_000 },
      "catching_up",
    ],
    ["it runs, silent just under the limit", { running: true, answered: false, silentMs: 29_999 }, "catching_up"],
    ["it runs, silent for the limit", { running: true, answered: false, silentMs: 30_000 }, "stalled"],
    ["it runs, silent for longer", { running: true, answered: false, silentMs: 90_000 }, "stalled"],
  ])("%s", (_, input, expected) => {
    expect(dataPlaneLiveness({ ...input, limitMs: 30_000 })).toBe(expected);
  });
});
