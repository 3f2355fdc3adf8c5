import type { ObjectId } from "bson";
import type { Plugin } from "../../src/core/plugin";
import type { Filter, FindOneAndUpdateOptions } from "../../src/core/ports/document-store";
import { type SanitizedUser, USER_COLLECTION, type UserDoc } from "../../src/domain/user";
import { DELETED_VERSION } from "../cache-sync/engine";

type Target = { _id: ObjectId; email: string };

/**
 * Write-through (SPEC §2 updateUserWithSync): once MongoDB acknowledged a users write, the new
 * sanitized document goes to Redis at once (versioned, forward only). Writes that return no
 * document re-read the ones they touched; deletes leave tombstones. The changed users are put in
 * `call.state.changedUsers` for the events plugin.
 */
export function writeThroughPlugin(): Plugin {
  return {
    name: "write-through",
    dependencies: ["cache-sync"],
    hooks: (ctx) => {
      const engine = ctx.use("cacheEngine");
      const raw = () => ctx.db.collection<UserDoc>(USER_COLLECTION);
      const writeAll = async (docs: readonly (UserDoc | null)[]) => {
        const users: SanitizedUser[] = [];
        for (const doc of docs) if (doc) users.push(engine.sanitize(doc));
        await Promise.all(users.map((u) => engine.writeThrough(u)));
        return users;
      };
      return [
        {
          collection: USER_COLLECTION,
          op: ["findOneAndUpdate", "insertOne"],
          run: async (call, next) => {
            const result = (await engine.observeMongo(next())) as UserDoc | null;
            if (!result) return result;
            const opts = call.args[2] as FindOneAndUpdateOptions | undefined;
            const after =
              call.op === "findOneAndUpdate" && opts?.returnDocument === "before"
                ? await raw().findOne({ _id: result._id })
                : result;
            call.state.changedUsers = await writeAll([after]);
            return result;
          },
        },
        {
          collection: USER_COLLECTION,
          op: ["updateOne", "updateMany", "deleteOne", "deleteMany"],
          run: async (call, next) => {
            const single = call.op === "updateOne" || call.op === "deleteOne";
            const targets = (await raw().find(call.args[0] as Filter, {
              projection: { _id: 1, email: 1 },
              ...(single ? { limit: 1 } : {}),
            })) as unknown as Target[];
            const result = await engine.observeMongo(next());
            if (call.op.startsWith("delete")) {
              await Promise.all(
                targets.map((t) =>
                  engine.invalidate(t._id.toHexString(), DELETED_VERSION, [t.email]),
                ),
              );
              return result;
            }
            const docs = await Promise.all(targets.map((t) => raw().findOne({ _id: t._id })));
            call.state.changedUsers = await writeAll(docs);
            return result;
          },
        },
      ];
    },
  };
}
