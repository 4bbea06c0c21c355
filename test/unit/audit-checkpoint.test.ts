import { describe, expect, it } from "vitest";
import {
  checkpointDue,
  checkpointLine,
  compareWithCheckpoint,
  generateCheckpointKey,
  parseCheckpointKey,
  readCheckpointLine,
  signCheckpoint,
  type ChainAtCheckpoint,
  type Checkpoint,
} from "../../server/audit/checkpoint.ts";

const key = generateCheckpointKey();
const checkpoint: Checkpoint = { seq: 233, hash: "ab".repeat(32), at: "2026-12-01T14:02:07.123Z" };

describe("a signed checkpoint line", () => {
  it("reads back what was signed, with the same key only", () => {
    const line = checkpointLine(signCheckpoint(checkpoint, key));
    expect(line.endsWith("\n")).toBe(true);
    expect(readCheckpointLine(line.trim(), key.publicKey)).toMatchObject(checkpoint);
    expect(readCheckpointLine(line.trim(), generateCheckpointKey().publicKey)).toBeNull();
  });

  it.each([
    ["another sequence number", (c: Record<string, unknown>) => ({ ...c, seq: 232 })],
    ["another hash", (c: Record<string, unknown>) => ({ ...c, hash: "cd".repeat(32) })],
    ["another time", (c: Record<string, unknown>) => ({ ...c, at: "2026-12-01T15:02:07.123Z" })],
    ["no signature", (c: Record<string, unknown>) => ({ ...c, signature: undefined })],
    ["a sequence number that is not an integer", (c: Record<string, unknown>) => ({ ...c, seq: "233" })],
  ])("is refused with %s", (_name, change) => {
    const signed = JSON.parse(checkpointLine(signCheckpoint(checkpoint, key))) as Record<string, unknown>;
    expect(readCheckpointLine(JSON.stringify(change(signed)), key.publicKey)).toBeNull();
  });

  it("is refused when torn (a crash in the middle of a write)", () => {
    const line = checkpointLine(signCheckpoint(checkpoint, key)).trim();
    expect(readCheckpointLine(line.slice(0, 40), key.publicKey)).toBeNull();
  });

  it("takes the key as PEM or as base64 DER, and refuses keys that are not Ed25519", () => {
    const pem = key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const der = (key.privateKey.export({ type: "pkcs8", format: "der" }) as Buffer).toString("base64");
    const line = checkpointLine(signCheckpoint(checkpoint, parseCheckpointKey(der))).trim();
    expect(readCheckpointLine(line, parseCheckpointKey(pem).publicKey)).toMatchObject(checkpoint);
    expect(() => parseCheckpointKey("not a key")).toThrow();
  });
});

describe("checkpointDue", () => {
  const policy = { everyEvents: 100, everyMs: 5 * 60_000 };
  const last: Checkpoint = { seq: 200, hash: "x", at: "2026-12-01T14:00:00.000Z" };
  const at = (time: string) => new Date(`2026-12-01T${time}Z`);
  it.each([
    ["an empty chain: nothing to vouch for", null, 0, at("14:00:00"), false],
    ["no checkpoint yet", null, 1, at("14:00:00"), true],
    ["nothing new", last, 200, at("15:00:00"), false],
    ["a few events, soon after", last, 250, at("14:01:00"), false],
    ["N events", last, 300, at("14:01:00"), true],
    ["M minutes and one event", last, 201, at("14:05:00"), true],
    ["behind the last checkpoint (cut): never", last, 150, at("15:00:00"), false],
  ])("%s", (_name, previous, headSeq, now, due) => {
    expect(checkpointDue(previous, { seq: headSeq }, now, policy)).toBe(due);
  });
});

describe("compareWithCheckpoint", () => {
  const intact: ChainAtCheckpoint = {
    headSeq: 240,
    event: { seq: 233, hash: checkpoint.hash },
    newestStoredUpTo: 233,
    anchorSeq: 0,
  };
  it.each<[string, ChainAtCheckpoint, { seq: number; kind: string; detail: string }[]]>([
    ["the chain still holds the checkpoint's event", intact, []],
    ["the checkpoint is the head", { ...intact, headSeq: 233 }, []],
    ["purged since (older than the anchor)", { headSeq: 900, event: null, newestStoredUpTo: 0, anchorSeq: 500 }, []],
    [
      "the newest events cut and the head moved back",
      { headSeq: 230, event: null, newestStoredUpTo: 230, anchorSeq: 0 },
      [
        {
          seq: 231,
          kind: "missing",
          detail:
            "events 231–233 are missing since the checkpoint of 2026-12-01 14:02:07 UTC, which recorded event 233",
        },
      ],
    ],
    [
      "only the checkpoint's own event cut",
      { headSeq: 232, event: null, newestStoredUpTo: 232, anchorSeq: 0 },
      [
        {
          seq: 233,
          kind: "missing",
          detail: "event 233 is missing since the checkpoint of 2026-12-01 14:02:07 UTC, which recorded event 233",
        },
      ],
    ],
    [
      "cut and appended again",
      { headSeq: 236, event: { seq: 233, hash: "cd".repeat(32) }, newestStoredUpTo: 233, anchorSeq: 0 },
      [
        {
          seq: 233,
          kind: "relinked",
          detail:
            "event 233 is not the one the checkpoint of 2026-12-01 14:02:07 UTC recorded: the chain was cut and rewritten since",
        },
      ],
    ],
    [
      "the head moved back over events still stored",
      { headSeq: 230, event: { seq: 233, hash: checkpoint.hash }, newestStoredUpTo: 233, anchorSeq: 0 },
      [
        {
          seq: 231,
          kind: "missing",
          detail:
            "the chain head (event 230) is behind the checkpoint of 2026-12-01 14:02:07 UTC, which recorded event 233: the newest events were hidden",
        },
      ],
    ],
  ])("%s", (_name, chain, breaks) => {
    expect(compareWithCheckpoint(checkpoint, chain)).toEqual(breaks);
  });
});
