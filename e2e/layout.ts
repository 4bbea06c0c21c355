/** Layout checks a person would make by eye, run in the page. */
import type { Page } from "@playwright/test";

/** Every word in the page's tables that the browser broke across two lines (a Range per word has one box per line). */
export function wordsBrokenInTables(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const broken: string[] = [];
    /** Raw data (JSON, hashes) that a cell itself chose to break anywhere: not what a table inherits. */
    const breaksByChoice = (element: Element, table: Element): boolean => {
      for (let at: Element | null = element; at && at !== table; at = at.parentElement) {
        const own = getComputedStyle(at);
        if (own.wordBreak === "break-all") return true;
        if (at.parentElement && own.overflowWrap !== getComputedStyle(at.parentElement).overflowWrap) return true;
      }
      return false;
    };
    for (const table of document.querySelectorAll("main table")) {
      const walker = document.createTreeWalker(table, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        // Text out of sight (a closed <details>) has no lines to break.
        if (!parent?.checkVisibility({ contentVisibilityAuto: true })) continue;
        if (breaksByChoice(parent, table)) continue;
        const text = node.textContent ?? "";
        // Words as a line may not break inside them: hyphens, dashes and slashes are fair places to wrap.
        for (const match of text.matchAll(/[^\s/\-–—]+/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          if (range.getClientRects().length > 1) broken.push(match[0]);
        }
      }
    }
    return broken;
  });
}
