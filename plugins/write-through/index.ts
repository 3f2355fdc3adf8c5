import type { ObjectId } from "bson";
import type { HookSpec } from "../../src/core/hooks";
import type { Plugin } from "../../src/core/plugin";
import type { Doc, Filter, FindOneAndUpdateOptions } from "../../src/core/ports/document-store";
import type { CachedDoc } from "../cache-sync/collection";
import type { CollectionCache } from "../cache-sync/collection-cache";
import { DELETED_VERSION } from "../cache-sync/core";

/**
 * Write-through for one declared collection: once MongoDB acknowledged a write, the new
 * sanitized documents go to Redis at once (versioned, forward only). Writes that return no
 * document re-read the ones they touched; deletes leave tombstones. The changed documents are
 * put in `call.state.changed` for the events plugin.
 */
function writeThroughHooks(cache: CollectionCache): HookSpec[] {
  const { engine } = cache;
  const ctx = engine.core.ctx;
  const raw = () => ctx.db.collection(cache.name);
  const projection: Record<string, 1> = { _id: 1 };
  for (const u of cache.declaration.unique) projection[u.field] = 1;
  const writeAll = async (docs: readonly (Doc | null)[]) => {
    const out: CachedDoc[] = [];
    for (const doc of docs) if (doc) out.push(engine.sanitize(doc));
    await Promise.all(out.map((d) => engine.writeThrough(d)));
    return out;
  };
  return [
    {
      collection: cache.name,
      op: ["findOneAndUpdate", "insertOne"],
      run: async (call, next) => {
        const result = (await engine.core.observeMongo(next())) as Doc | null;
        if (!result) return result;
        const opts = call.args[2] as FindOneAndUpdateOptions | undefined;
        const after =
          call.op === "findOneAndUpdate" && opts?.returnDocument === "before"
            ? await raw().findOne({ _id: result._id })
            : result;
        call.state.changed = await writeAll([after]);
        return result;
      },
    },
    {
      collection: cache.name,
      op: ["updateOne", "updateMany", "deleteOne", "deleteMany"],
      run: async (call, next) => {
        const single = call.op === "updateOne" || call.op === "deleteOne";
        const targets = (await raw().find(call.args[0] as Filter, {
          projection,
          ...(single ? { limit: 1 } : {}),
        })) as (Doc & { _id: ObjectId })[];
        const result = await engine.core.observeMongo(next());
        if (call.op.startsWith("delete")) {
          await Promise.all(
            targets.map((t) => engine.invalidateEntry(t._id.toHexString(), DELETED_VERSION, [t])),
          );
          return result;
        }
        const docs = await Promise.all(targets.map((t) => raw().findOne({ _id: t._id })));
        call.state.changed = await writeAll(docs);
        return result;
      },
    },
  ];
}

/** Write-through (SPEC §2 updateUserWithSync) for every declared collection. */
export function writeThroughPlugin(): Plugin {
  return {
    name: "write-through",
    dependencies: ["cache-sync"],
    hooks: (ctx) => ctx.use("cache").all().flatMap(writeThroughHooks),
  };
}
