import { describe, expect, it } from "vitest";
import { describeUniqueViolation, fieldsOfIndex, uniqueViolation } from "../../server/db/unique-violation.ts";

const adapterError = (cause: Record<string, unknown>, code = "P2002", modelName?: string) => ({
  code,
  meta: {
    ...(modelName ? { modelName } : {}),
    driverAdapterError: {
      name: "DriverAdapterError",
      cause: { originalCode: "23505", kind: "UniqueConstraintViolation", ...cause },
    },
  },
});

describe("uniqueViolation (what Prisma's driver adapters say about a duplicate)", () => {
  it.each([
    [
      "PGlite names the fields",
      adapterError({ constraint: { fields: ["email"] } }, "P2002", "User"),
      { model: "User", fields: ["email"] },
    ],
    [
      "node-postgres names the index",
      adapterError({ constraint: { index: "User_email_key" }, table: "User" }, "P2002", "User"),
      { model: "User", fields: ["email"] },
    ],
    [
      "a composite index",
      adapterError({
        constraint: { index: "ChecklistTemplateItem_environmentId_key_key" },
        table: "ChecklistTemplateItem",
      }),
      { model: "ChecklistTemplateItem", fields: ["environmentId", "key"] },
    ],
    [
      "raw SQL (P2010)",
      adapterError({ constraint: { index: "Service_slug_key" }, table: "Service" }, "P2010"),
      { model: "Service", fields: ["slug"] },
    ],
    [
      "quoted field names",
      adapterError({ constraint: { fields: ['"slug"'] } }, "P2002", "Service"),
      { model: "Service", fields: ["slug"] },
    ],
  ])("%s", (_name, error, expected) => {
    expect(uniqueViolation(error)).toEqual(expected);
  });

  it.each([
    ["another Prisma error", { code: "P2025", meta: {} }],
    ["another constraint", adapterError({ kind: "ForeignKeyConstraintViolation" })],
    ["not an error object", "P2002"],
    ["nothing", null],
  ])("is null for %s", (_name, error) => {
    expect(uniqueViolation(error)).toBeNull();
  });

  it("reads Prisma's index names", () => {
    expect(fieldsOfIndex("User_email_key", "User")).toEqual(["email"]);
    expect(fieldsOfIndex("Notification_userId_dedupeKey_key", "Notification")).toEqual(["userId", "dedupeKey"]);
    expect(fieldsOfIndex("NotificationSubscription_pkey", "NotificationSubscription")).toEqual([]);
    expect(fieldsOfIndex("Release_serviceId_version_key", null)).toEqual(["serviceId", "version"]);
  });

  it("says which field, in words", () => {
    expect(describeUniqueViolation({ model: "User", fields: ["email"] })).toEqual({
      field: "email",
      message: "A user with this email already exists",
    });
    expect(describeUniqueViolation({ model: "Release", fields: ["serviceId", "version"] })).toEqual({
      field: "version",
      message: "A release with this service and version already exists",
    });
    expect(describeUniqueViolation({ model: null, fields: [] })).toEqual({
      field: "input",
      message: "A record with this input already exists",
    });
    expect(describeUniqueViolation({ model: "AuditEvent", fields: ["hash"] }).message).toBe(
      "An audit event with this hash already exists",
    );
  });
});
