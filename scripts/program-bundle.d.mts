/** scripts/program-bundle.mjs, for the TypeScript that calls it (the test tiers' global set-ups). */
export function programBundle(entry: string, options?: { root?: string }): Promise<string>;
