/**
 * The panel as a real child process in vitest (test/helpers/panel-child.ts): every process started
 * there is killed when the test file ends.
 */
import { afterAll } from "vitest";
import { runningPanels } from "./panel-child.ts";

export { ROOT, spawnPanel, type PanelProcess } from "./panel-child.ts";

afterAll(() => {
  for (const child of runningPanels) child.kill("SIGKILL");
});
