/**
 * The panel as a real child process in vitest (test/helpers/panel-child.ts): every process started
 * there is killed when the test file ends.
 */
import { afterAll } from "vitest";
import { runningPanels, spawnPanel as spawnPanelChild, type PanelProcess } from "./panel-child.ts";

export { ROOT, type PanelProcess } from "./panel-child.ts";

/** The panels of vitest's tiers live for seconds: they run with `--liftoff-only` (panel-child.ts says why). */
export function spawnPanel(env: Record<string, string>): PanelProcess {
  return spawnPanelChild(env, { liftoffOnly: true });
}

afterAll(() => {
  for (const child of runningPanels) child.kill("SIGKILL");
});
