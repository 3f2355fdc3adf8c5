/**
 * A separate project that uses cachesync the way an embedding team would: by its package name,
 * installed from the packed tarball (test/library/package.test.ts), never by a path into the repo.
 */
import { ObjectId } from "bson";
import {
  type CachedDoc,
  type CollectionCache,
  createCacheSync,
  createLogger,
  createStores,
  defineCachedCollection,
  makeConfig,
} from "cachesync";
import type { paths } from "cachesync/client";
import { freePort } from "cachesync/testing";

// The team's own collection, declared once: cached by id; `internal` never reaches Redis.
const articles = defineCachedCollection({
  name: "articles",
  entity: "article",
  sensitive: ["internal"],
});

interface Article extends CachedDoc {
  title: string;
}

// Types `cache.articles` (the same declaration merging the built-in collections use).
declare module "cachesync" {
  interface CachedCollections {
    articles: CollectionCache<Article>;
  }
}

const config = makeConfig({ LOG_LEVEL: "silent", CONSISTENCY_CHECK_INTERVAL_SECONDS: 0 });
// Their stores (here the embedded ones; MONGO_URL / REDIS_URL select real servers).
const stores = await createStores(config, createLogger("silent"));
const { cache, app, close } = await createCacheSync({ config, stores, collections: [articles] });
try {
  const _id = new ObjectId();
  await stores.db
    .collection("articles")
    .insertOne({ _id, title: "Hello", internal: "x", version: 1 });
  const id = _id.toHexString();
  const first = await cache.articles.get(id);
  await cache.articles.update(id, { $set: { title: "Hello again" } });
  const second = await cache.articles.get(id);
  const many = await cache.articles.getMany([id, new ObjectId().toHexString()]);
  const health = await app.request("/health");
  // A type from the generated client: a compile-time check that `cachesync/client` resolves.
  const route: keyof paths = "/api/v1/users/me";
  console.log(
    JSON.stringify({
      first: first && { title: first.title, internal: "internal" in first },
      second: second && { title: second.title, version: second.version },
      many: many.map((m) => m !== null),
      health: health.status,
      route,
      port: (await freePort()) > 0,
    }),
  );
} finally {
  await close();
}
