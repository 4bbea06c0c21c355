/**
 * The rules of the hash chain, as pure functions: how an audit event is serialised canonically and
 * hashed together with its predecessor's hash, and how a sequence of stored rows is checked.
 */
import { createHash } from "node:crypto";

export const GENESIS_HASH = "0".repeat(64);

export interface ChainedFields {
  seq: number;
  at: Date;
  actorId: string | null;
  actorEmail: string | null;
  actorRoles: string[];
  action: string;
  entityType: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  traceId: string | null;
  /** What the event concerns, for auditors' filters; part of the hash like everything else. */
  serviceId?: string | null;
  environmentId?: string | null;
}

export interface StoredEvent extends ChainedFields {
  prevHash: string;
  hash: string;
}

/** JSON with object keys sorted at every level, so the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return "null";
  return JSON.stringify(value);
}

/**
 * Turns a before/after snapshot into the plain JSON that the database will hand back (dates as ISO
 * strings, bigints as strings, undefined dropped, unpaired surrogates as U+FFFD), so the hash
 * computed at write time is the one recomputed when verifying.
 */
export function toStoredJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  return wellFormed(JSON.parse(canonicalJson(value)));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A string as the database stores it: UTF-8 cannot hold an unpaired surrogate, so a text column
 * gets U+FFFD in its place (and JSONB refuses it). Hashing the original would make the event look
 * altered when verified.
 */
export function toStoredText<T extends string | null>(value: T): T {
  return (value === null ? null : value.replace(LONE_SURROGATE, "\uFFFD")) as T;
}

function wellFormed(value: unknown): unknown {
  if (typeof value === "string") return toStoredText(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toStoredText(k), wellFormed(v)]));
  return value;
}

export function hashEvent(prevHash: string, fields: ChainedFields): string {
  const body = canonicalJson({
    seq: fields.seq,
    at: fields.at.toISOString(),
    actorId: fields.actorId,
    actorEmail: fields.actorEmail,
    actorRoles: fields.actorRoles,
    action: fields.action,
    entityType: fields.entityType,
    entityId: fields.entityId,
    before: fields.before ?? null,
    after: fields.after ?? null,
    ip: fields.ip,
    traceId: fields.traceId,
    serviceId: fields.serviceId ?? null,
    environmentId: fields.environmentId ?? null,
  });
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}

export type ChainBreak =
  | { seq: number; kind: "missing"; detail: string }
  | { seq: number; kind: "altered"; detail: string }
  | { seq: number; kind: "relinked"; detail: string }
  /** The retention anchor the chain starts from does not agree with the purge that made it. */
  | { seq: number; kind: "anchor"; detail: string };

/**
 * Walks rows in sequence order from a starting point (the genesis, or the anchor left by the
 * retention purge) and reports every place the chain is broken. Feed it batches in order; it keeps
 * its position between calls.
 */
export class ChainChecker {
  private expectedSeq: number;
  private prevHash: string;
  readonly breaks: ChainBreak[] = [];
  checked = 0;

  constructor(start: { seq: number; hash: string }) {
    this.expectedSeq = start.seq + 1;
    this.prevHash = start.hash;
  }

  check(row: StoredEvent): void {
    this.checked++;
    const gap = row.seq > this.expectedSeq;
    if (gap) {
      const last = row.seq - 1;
      this.breaks.push({
        seq: this.expectedSeq,
        kind: "missing",
        detail:
          last === this.expectedSeq
            ? `event ${this.expectedSeq} is missing`
            : `events ${this.expectedSeq}–${last} are missing`,
      });
    }
    if (hashEvent(row.prevHash, row) !== row.hash) {
      this.breaks.push({
        seq: row.seq,
        kind: "altered",
        detail: `event ${row.seq} does not match its hash: its contents were changed`,
      });
    } else if (!gap && row.prevHash !== this.prevHash) {
      this.breaks.push({
        seq: row.seq,
        kind: "relinked",
        detail: `event ${row.seq} does not follow event ${row.seq - 1}: the chain was rewritten`,
      });
    }
    // Continue from the stored hash so one altered row is reported once, not at every row after it.
    this.prevHash = row.hash;
    this.expectedSeq = row.seq + 1;
  }

  /** The head records the last sequence number written: rows cut from the end show up here. */
  /**
   * The head also records the newest event's hash: newest events rewritten with fresh hashes (which
   * the links alone cannot show) no longer match it.
   */
  finish(headSeq: number, headHash?: string): void {
    if (headHash !== undefined && headSeq === this.expectedSeq - 1 && headSeq > 0 && headHash !== this.prevHash) {
      this.breaks.push({
        seq: headSeq,
        kind: "relinked",
        detail: `event ${headSeq} does not match the chain head: the newest events were rewritten`,
      });
    }
    if (headSeq >= this.expectedSeq) {
      this.breaks.push({
        seq: this.expectedSeq,
        kind: "missing",
        detail:
          headSeq === this.expectedSeq
            ? `event ${headSeq} is missing`
            : `events ${this.expectedSeq}–${headSeq} are missing`,
      });
    }
  }
}
