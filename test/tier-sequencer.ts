/**
 * The order vitest starts test files in. Vitest runs projects in name order, and its last one used to
 * be the Prometheus tier: one 40-second file that mostly waits for scrapes, beside the short unit
 * files, so the run ended with a core idle. Started first, its waits overlap the integration tiers'
 * work instead. Within that, vitest's own order stands (larger or, with a results cache, slower files first).
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

const FIRST = new Set(["prometheus"]);

export default class TierSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [
      ...sorted.filter((file) => FIRST.has(file.project.name)),
      ...sorted.filter((file) => !FIRST.has(file.project.name)),
    ];
  }
}
