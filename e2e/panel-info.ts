import fs from "node:fs";
import path from "node:path";

/** What global setup learned from the panel's console: where it runs and the demo sign-ins. */
export interface PanelInfo {
  url: string;
  pid: number;
  credentials: Record<string, string>;
}

export const PANEL_INFO_FILE = path.resolve(__dirname, "../.cache/e2e-panel.json");

export function readPanelInfo(): PanelInfo {
  return JSON.parse(fs.readFileSync(PANEL_INFO_FILE, "utf8")) as PanelInfo;
}
