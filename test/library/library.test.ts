import { expect, test } from "bun:test";
import { createCacheSync, makeConfig } from "../../src/index";

test("CacheSyncService is usable as a library on the embedded stores", async () => {
  const { service, close } = await createCacheSync({
    config: makeConfig({ LOG_LEVEL: "silent", CONSISTENCY_CHECK_INTERVAL_SECONDS: 0 }),
  });
  try {
    expect(await service.getUserWithSync("0123456789abcdef01234567")).toBeNull();
    expect(await service.validateCacheConsistency("0123456789abcdef01234567")).toEqual({
      consistent: true,
    });
  } finally {
    await close();
  }
});
