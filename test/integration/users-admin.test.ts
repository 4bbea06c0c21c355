import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { answer, refusal } from "../helpers/panel-client.ts";

let t: TestPanel;
beforeAll(async () => {
  t = await startTestPanel();
});
afterAll(() => t?.close());

describe("administrators", () => {
  it("cannot demote each other at the same moment and leave the panel without one", async () => {
    const a = await t.createUser(["admin"]);
    const b = await t.createUser(["admin"]);
    // Only a and b are administrators in this panel.
    const results = await Promise.all([
      answer(a.client.users.update.mutate({ id: b.id, roles: ["viewer"] })),
      answer(b.client.users.update.mutate({ id: a.id, roles: ["viewer"] })),
    ]);
    const statuses = results.map((r) => r.status).sort();
    // Whoever goes second is either refused as the last admin, or no longer an admin at all.
    expect(statuses[0]).toBe(200);
    expect([403, 412]).toContain(statuses[1]);
    expect(await t.prisma.user.count({ where: { active: true, roles: { has: "admin" } } })).toBe(1);
  });
});

describe("text input", () => {
  it("refuses NUL characters with a 400 naming the field, and stores nothing", async () => {
    const admin = await t.createUser(["admin"]);
    const response = await refusal(
      admin.client.users.create.mutate({ email: "nul@example.test", name: "Bad\u0000Name", roles: ["viewer"] }),
    );
    expect(response.status).toBe(400);
    expect(response.message).toBe("Name: must not contain a NUL character");
    expect(response.field).toBe("name");
    expect(await t.prisma.user.count({ where: { email: "nul@example.test" } })).toBe(0);
  });
});

describe("password hashing", () => {
  it("uses the configured BCRYPT_COST for created, reset and changed passwords, and warns that 4 is for tests", async () => {
    const storedHash = async (id: string) => (await t.prisma.user.findUniqueOrThrow({ where: { id } })).passwordHash;
    const admin = await t.createUser(["admin"]);
    const created = await admin.client.users.create.mutate({
      email: "cost@example.test",
      name: "Cost",
      roles: ["viewer"],
    });
    const first = await storedHash(created.user.id);
    expect(first).toMatch(/^\$2[aby]\$04\$/);
    await admin.client.users.resetPassword.mutate({ id: created.user.id });
    const reset = await storedHash(created.user.id);
    expect(reset).not.toBe(first);
    expect(reset).toMatch(/^\$2[aby]\$04\$/);

    const viewer = await t.createUser(["viewer"]);
    const before = await storedHash(viewer.id);
    await viewer.client.me.changePassword.mutate({
      currentPassword: viewer.password,
      newPassword: "a new password, long enough",
    });
    const changed = await storedHash(viewer.id);
    expect(changed).not.toBe(before);
    expect(changed).toMatch(/^\$2[aby]\$04\$/);

    const warning = t.logs.find((line) => line.includes('"action":"auth.weak_password_hashing"'));
    expect(warning).toContain("BCRYPT_COST=4 is below 10: new password hashes are quick to crack");
  });
});
