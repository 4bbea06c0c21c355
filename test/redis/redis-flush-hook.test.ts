import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { testEnvironment } from "../../server/config.ts";
import { runRollbackHook } from "../../server/releases/hooks.ts";

describe("the Redis flush rollback hook", () => {
  it("empties the configured cache database, and only that one", async () => {
    const url = testEnvironment().redisUrl!;
    const cache = createClient({ url, database: 13 });
    const other = createClient({ url, database: 12 });
    await Promise.all([cache.connect(), other.connect()]);
    try {
      await cache.set("greenlight:test:a", "1");
      await cache.set("greenlight:test:b", "2");
      await other.set("greenlight:test:keep", "3");
      const outcome = await runRollbackHook(
        { kind: "redis_flush", name: "Clear cache", url, database: 13 },
        { deploymentId: "d", service: "s", environment: "e", release: "r", reason: null },
      );
      expect(outcome).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^flushed Redis database 13 \(\d+ keys\)$/),
      });
      expect(await cache.dbSize()).toBe(0);
      expect(await other.get("greenlight:test:keep")).toBe("3");
    } finally {
      await other.del("greenlight:test:keep");
      await Promise.all([cache.quit(), other.quit()]);
    }
  });

  it("reports a failure it cannot reach", async () => {
    const outcome = await runRollbackHook(
      { kind: "redis_flush", name: "Clear cache", url: "redis://127.0.0.1:1", database: 0 },
      { deploymentId: "d", service: "s", environment: "e", release: "r", reason: null },
    );
    expect(outcome).toMatchObject({ ok: false, detail: expect.stringMatching(/^Redis flush failed/) });
  });
});
