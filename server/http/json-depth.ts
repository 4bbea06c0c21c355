/**
 * How deeply a JSON text nests, found by scanning its characters (no parsing, no recursion): input
 * nested thousands deep overflows the stack of whatever walks it after parsing, so it is refused
 * before. Pure.
 */

/** The deepest nesting a procedure's input may have (superjson's envelope takes two or three levels). */
export const MAX_INPUT_DEPTH = 64;

/** Whether the arrays and objects in `text` nest deeper than `max` (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}
