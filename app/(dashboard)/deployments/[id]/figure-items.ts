/** Which success figures a deployment shows, and against which targets (pure; the page formats them). */
export type FiguresShape = {
  durationSeconds: number;
  breachToRollbackSeconds: number | null;
  onsetToRollbackSeconds?: number | null;
  blastRadiusRequests?: number | null;
  commandToRollbackSeconds?: number | null;
  errorRateChangePp: number | null;
  secondsWithoutSuccess: number;
  targets: Record<string, number>;
};

export type Kind = "seconds" | "count" | "pp";
export type Item = { label: string; key: string; value: number | null; target: number | null; kind: Kind };

export function figureItems(figures: FiguresShape, rollbackKind: string | null): Item[] {
  const items: Item[] = [
    {
      label: "Duration",
      key: "durationSeconds",
      value: figures.durationSeconds,
      target: figures.targets.durationSeconds ?? null,
      kind: "seconds",
    },
  ];
  if (rollbackKind === "manual")
    items.push({
      label: "Command to 100% live",
      key: "commandToRollbackSeconds",
      value: figures.commandToRollbackSeconds ?? null,
      target: figures.targets.breachToRollbackSeconds ?? null,
      kind: "seconds",
    });
  else if (rollbackKind !== null)
    items.push({
      label: "Breach to 100% live",
      key: "breachToRollbackSeconds",
      value: figures.breachToRollbackSeconds,
      target: figures.targets.breachToRollbackSeconds ?? null,
      kind: "seconds",
    });
  if (rollbackKind !== null && figures.onsetToRollbackSeconds !== undefined)
    items.push({
      label: "Onset to 100% live",
      key: "onsetToRollbackSeconds",
      value: figures.onsetToRollbackSeconds,
      target: null,
      kind: "seconds",
    });
  if (figures.blastRadiusRequests !== undefined)
    items.push({
      label: "Blast radius (failed requests)",
      key: "blastRadiusRequests",
      value: figures.blastRadiusRequests,
      target: null,
      kind: "count",
    });
  items.push({
    label: "Error-rate change after promotion",
    key: "errorRateChangePp",
    value: figures.errorRateChangePp,
    target: figures.targets.errorRateChangePp ?? null,
    kind: "pp",
  });
  items.push({
    label: "Seconds without a successful response",
    key: "secondsWithoutSuccess",
    value: figures.secondsWithoutSuccess,
    target: figures.targets.secondsWithoutSuccess ?? null,
    kind: "seconds",
  });
  return items;
}
