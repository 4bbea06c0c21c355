/**
 * Signed checkpoints of the audit chain, kept outside the database: every so many events or minutes
 * the panel signs (Ed25519, with a key that never enters the database) "the chain was at event S with
 * hash H at time T" and appends it to a file (and optionally a webhook). The chain alone cannot show a
 * cut at its newest end made by someone who can also move the chain head; a checkpoint can: verify
 * names what is missing or rewritten since it. This is the signed tree head of transparency logs,
 * on a hash chain.
 *
 * The rules, as pure functions: the signed text, a checkpoint line and its check, when to write the
 * next one, and how a chain compares with the latest.
 */
import { parseEd25519Key } from "../ed25519-key.ts";
import { generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";

export interface Checkpoint {
  /** The newest event the chain had when the checkpoint was signed, and its hash. */
  seq: number;
  hash: string;
  /** When it was signed (ISO 8601). */
  at: string;
}

export interface SignedCheckpoint extends Checkpoint {
  /** Ed25519 signature of `checkpointMessage(…)`, base64. */
  signature: string;
}

export interface CheckpointKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** What is signed: a fixed prefix (so the signature means nothing elsewhere) and the three fields. */
export function checkpointMessage(checkpoint: Checkpoint): Buffer {
  return Buffer.from(`greenlight-audit-checkpoint/1\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.at}`, "utf8");
}

export function generateCheckpointKey(): CheckpointKey {
  return generateKeyPairSync("ed25519");
}

/** A private key as PEM (PKCS #8) or as the base64 of its DER form (one line, for an environment variable). */
/** The checkpoint key from text (PEM or base64 PKCS#8; Ed25519 only). */
export const parseCheckpointKey = (text: string): CheckpointKey => parseEd25519Key(text);

export function signCheckpoint(checkpoint: Checkpoint, key: CheckpointKey): SignedCheckpoint {
  return { ...checkpoint, signature: sign(null, checkpointMessage(checkpoint), key.privateKey).toString("base64") };
}

/** One line of the checkpoint file. */
export function checkpointLine(checkpoint: SignedCheckpoint): string {
  return `${JSON.stringify({ seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at, signature: checkpoint.signature })}\n`;
}

/** A line of the file, if it is a checkpoint signed with this key; null otherwise (a torn write, say). */
export function readCheckpointLine(line: string, publicKey: KeyObject): SignedCheckpoint | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object") return null;
  const { seq, hash, at, signature } = parsed as Record<string, unknown>;
  if (
    typeof seq !== "number" ||
    !Number.isSafeInteger(seq) ||
    typeof hash !== "string" ||
    typeof at !== "string" ||
    typeof signature !== "string"
  )
    return null;
  const checkpoint = { seq, hash, at, signature };
  return verify(null, checkpointMessage(checkpoint), publicKey, Buffer.from(signature, "base64")) ? checkpoint : null;
}

export interface CheckpointPolicy {
  /** Write once this many events were appended since the last checkpoint… */
  everyEvents: number;
  /** …or once this long has passed since it, if any event was appended. */
  everyMs: number;
}

/** Whether the chain at `head` deserves a new checkpoint. */
export function checkpointDue(
  last: Checkpoint | null,
  head: { seq: number },
  now: Date,
  policy: CheckpointPolicy,
): boolean {
  if (head.seq <= 0) return false;
  if (!last) return true;
  if (head.seq <= last.seq) return false;
  return head.seq - last.seq >= policy.everyEvents || now.getTime() - Date.parse(last.at) >= policy.everyMs;
}

/** "2026-12-01 14:02:07 UTC": how a checkpoint is named to people. */
export function describeCheckpointTime(checkpoint: Checkpoint): string {
  return `${checkpoint.at.replace("T", " ").slice(0, 19)} UTC`;
}

/** What the database holds where a checkpoint points. */
export interface ChainAtCheckpoint {
  /** The chain head's sequence number. */
  headSeq: number;
  /** The stored event at the checkpoint's sequence number, if any. */
  event: { seq: number; hash: string } | null;
  /** The newest stored event at or before the checkpoint's sequence number (0: none). */
  newestStoredUpTo: number;
  /** The retention anchor: a checkpoint at or before it was purged with the events. */
  anchorSeq: number;
}

export type CheckpointBreak = { seq: number; kind: "missing" | "relinked"; detail: string };

/**
 * How the chain compares with the latest checkpoint. The chain is hash-linked, so an event that still
 * matches the checkpoint vouches for every event before it; what the walk of the chain cannot see is
 * events at the newest end cut (with the head moved back) or replaced (cut and appended again).
 */
export function compareWithCheckpoint(checkpoint: Checkpoint, chain: ChainAtCheckpoint): CheckpointBreak[] {
  if (checkpoint.seq <= chain.anchorSeq) return [];
  const of = `the checkpoint of ${describeCheckpointTime(checkpoint)}`;
  if (chain.event === null) {
    const from = chain.newestStoredUpTo + 1;
    const range = from === checkpoint.seq ? `event ${checkpoint.seq} is` : `events ${from}–${checkpoint.seq} are`;
    return [
      { seq: from, kind: "missing", detail: `${range} missing since ${of}, which recorded event ${checkpoint.seq}` },
    ];
  }
  if (chain.event.hash !== checkpoint.hash) {
    return [
      {
        seq: checkpoint.seq,
        kind: "relinked",
        detail: `event ${checkpoint.seq} is not the one ${of} recorded: the chain was cut and rewritten since`,
      },
    ];
  }
  if (chain.headSeq < checkpoint.seq) {
    return [
      {
        seq: chain.headSeq + 1,
        kind: "missing",
        detail: `the chain head (event ${chain.headSeq}) is behind ${of}, which recorded event ${checkpoint.seq}: the newest events were hidden`,
      },
    ];
  }
  return [];
}
