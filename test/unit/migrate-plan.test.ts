/**
 * The rules of server/db/migrate.ts without a database: which migrations are pending given what
 * `_prisma_migrations` records, when applying must stop, and how checksums are taken and compared.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  migrationChecksum,
  MigrationError,
  planMigrations,
  scriptMatchesChecksum,
  type AppliedMigration,
  type MigrationFile,
} from "../../server/db/migrate.ts";

const sha256 = (text: string) => createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");

const A: MigrationFile = { name: "20260101000000_a", script: 'CREATE TABLE "A" ("id" INTEGER);\n' };
const B: MigrationFile = { name: "20260102000000_b", script: 'CREATE TABLE "B" ("id" INTEGER);\n' };
const C: MigrationFile = { name: "20260103000000_c", script: 'CREATE TABLE "C" ("id" INTEGER);\n' };
const files = [A, B, C];

const at = new Date("2026-01-05T10:00:00Z");
const finished = (file: MigrationFile, checksum = sha256(file.script)): AppliedMigration => ({
  name: file.name,
  checksum,
  finishedAt: at,
  rolledBackAt: null,
});
const unfinished = (file: MigrationFile): AppliedMigration => ({
  name: file.name,
  checksum: sha256(file.script),
  finishedAt: null,
  rolledBackAt: null,
});
const rolledBack = (file: MigrationFile, finishedAt: Date | null = null): AppliedMigration => ({
  name: file.name,
  checksum: sha256(file.script),
  finishedAt,
  rolledBackAt: at,
});

function planError(files: MigrationFile[], applied: AppliedMigration[]): MigrationError {
  try {
    planMigrations(files, applied);
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error("planMigrations did not throw");
}

describe("planMigrations", () => {
  it.each<[string, MigrationFile[], AppliedMigration[], string[]]>([
    ["nothing applied: all pending, in order", files, [], [A.name, B.name, C.name]],
    ["no migrations at all", [], [], []],
    ["all applied with matching checksums: none", files, [finished(A), finished(B), finished(C)], []],
    ["a prefix applied: the rest, in order", files, [finished(A)], [B.name, C.name]],
    ["rows in any order", files, [finished(C), finished(A)], [B.name]],
    ["a rolled-back attempt is ignored: pending again", files, [finished(A), rolledBack(B)], [B.name, C.name]],
    ["a rolled-back row that had finished is ignored too", files, [finished(A), rolledBack(B, at)], [B.name, C.name]],
    [
      "a rolled-back attempt followed by a successful one: applied",
      files,
      [finished(A), rolledBack(B), finished(B), finished(C)],
      [],
    ],
    ["a rolled-back row for a migration that is not on disk is ignored", [A], [finished(A), rolledBack(B)], []],
    [
      "a checksum taken with CRLF line endings still matches",
      [A],
      [finished(A, sha256(A.script.replace(/\n/g, "\r\n")))],
      [],
    ],
  ])("%s", (_name, onDisk, applied, pending) => {
    expect(planMigrations(onDisk, applied).map((f) => f.name)).toEqual(pending);
  });

  it("returns the files themselves, scripts included", () => {
    expect(planMigrations(files, [finished(A)])).toEqual([B, C]);
  });

  it.each<[string, MigrationFile[], AppliedMigration[], string, RegExp]>([
    [
      "an applied migration whose file was edited",
      files,
      [finished(A), finished(B, sha256("-- the original\n"))],
      B.name,
      /edited after it was applied/,
    ],
    [
      "an edited file even when a later migration is pending",
      files,
      [finished(A, sha256("SELECT 1;\n"))],
      A.name,
      /edited after it was applied/,
    ],
    [
      "a started migration that never finished (not rolled back)",
      files,
      [finished(A), unfinished(B)],
      B.name,
      /started but never finished/,
    ],
    [
      "a failed attempt after a rolled-back one",
      files,
      [finished(A), rolledBack(B), unfinished(B)],
      B.name,
      /started but never finished/,
    ],
    [
      "a finished migration in the database that is not on disk",
      [A, B],
      [finished(A), finished(B), finished(C)],
      C.name,
      /not in prisma\/migrations/,
    ],
    [
      "an unknown finished migration even when nothing else is applied",
      [A],
      [finished(C)],
      C.name,
      /not in prisma\/migrations/,
    ],
  ])("refuses %s, naming it", (_name, onDisk, applied, migration, reason) => {
    const error = planError(onDisk, applied);
    expect(error.migration).toBe(migration);
    expect(error.message).toContain(migration);
    expect(error.message).toMatch(reason);
  });
});

describe("migrationChecksum", () => {
  it.each([
    ["an empty file", ""],
    ["a one-line script", "SELECT 1;\n"],
    ["CRLF line endings", "SELECT 1;\r\nSELECT 2;\r\n"],
    ["non-ASCII text (hashed as UTF-8)", "-- café ☕ 😀\nSELECT 'é';\n"],
  ])("is the sha256 hex digest of the file text: %s", (_name, script) => {
    expect(migrationChecksum(script)).toBe(sha256(script));
    expect(migrationChecksum(script)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("matches a known digest", () => {
    expect(migrationChecksum("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(migrationChecksum("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("scriptMatchesChecksum", () => {
  const lf = '-- CreateTable\nCREATE TABLE "T" (\n    "id" TEXT NOT NULL\n);\n';
  const crlf = lf.replace(/\n/g, "\r\n");

  it.each<[string, string, string, boolean]>([
    ["the same LF text", lf, lf, true],
    ["the same CRLF text", crlf, crlf, true],
    ["an LF file against a CRLF checksum", lf, crlf, true],
    ["a CRLF file against an LF checksum", crlf, lf, true],
    ["an added comment", `${lf}-- note\n`, lf, false],
    ["a changed identifier", lf.replace('"id"', '"key"'), lf, false],
    ["a changed type", lf.replace("TEXT", "VARCHAR(10)"), lf, false],
    ["a trailing newline removed", lf.slice(0, -1), lf, false],
    ["a trailing space added", `${lf} `, lf, false],
    ["a change in case", lf.replace("NOT NULL", "not null"), lf, false],
    ["CR-only line endings (not a variant Prisma accepts)", lf.replace(/\n/g, "\r"), lf, false],
    ["CRLF plus an edit", `${crlf}-- note\r\n`, lf, false],
  ])("%s", (_name, script, checksummed, matches) => {
    expect(scriptMatchesChecksum(script, sha256(checksummed))).toBe(matches);
  });
});
