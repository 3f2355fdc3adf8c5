import { expect, test } from "bun:test";
import {
  createCacheSync,
  type DocumentStore,
  defineCachedCollection,
  makeConfig,
} from "../../app/index";

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

test("createCacheSync({ collections }): a collection declared by the embedder gets the engine", async () => {
  const products = defineCachedCollection({
    name: "products",
    entity: "product",
    unique: ["sku"],
    sensitive: ["cost"],
  });
  const { cache, app, close } = await createCacheSync({
    config: makeConfig({ LOG_LEVEL: "silent", CONSISTENCY_CHECK_INTERVAL_SECONDS: 0 }),
    collections: [products],
  });
  try {
    const products = cache.collection("products");
    if (!products) throw new Error("products not declared");
    const { insertedId } = await insertRaw(products.engine.core.ctx.stores.db, {
      sku: "A-1",
      name: "lamp",
      cost: 7,
    });
    const id = insertedId.toHexString();
    expect(await products.get(id)).toMatchObject({ id, name: "lamp" }); // written by another service: no version yet
    expect((await products.get(id))?.cost).toBeUndefined();
    expect((await products.getBy("sku", "A-1"))?.id).toBe(id);
    const after = await products.update(id, { $set: { name: "desk lamp" } });
    expect(after).toMatchObject({ name: "desk lamp", version: 1 });
    expect((await products.get(id))?.name).toBe("desk lamp");
    expect((await products.getMany([id, id]))?.map((p) => p?.version)).toEqual([1, 1]);
    // The HTTP API comes with it: the admin form of the cache routes knows the new collection.
    expect((await app.request(`/api/v1/cache/products/stats`)).status).toBe(401);
  } finally {
    await close();
  }
});

async function insertRaw(db: DocumentStore, doc: Record<string, unknown>) {
  const stored = await db.collection("products").insertOne(doc);
  return { insertedId: stored._id };
}
