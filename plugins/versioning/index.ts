import { AppError } from "../../src/core/errors";
import type { Plugin } from "../../src/core/plugin";
import type { Update } from "../../src/core/ports/document-store";
import { USER_COLLECTION } from "../../src/domain/user";

const UPDATE_OPS = ["updateOne", "updateMany", "findOneAndUpdate"] as const;

/**
 * Every users write bumps `version` in the same MongoDB update, so cache writes can be ordered
 * by it (SPEC §2 "no stale overwrite"). Callers never set `version` themselves.
 */
export function withVersionBump(update: Update, now: Date): Update {
  const keys = Object.keys(update);
  if (keys.length === 0 || keys.some((k) => !k.startsWith("$"))) {
    throw new AppError("CS_ERR_UPDATE_SHAPE", 500, "users updates must be operator documents");
  }
  for (const op of keys) {
    const fields = update[op];
    if (fields && typeof fields === "object" && ("version" in fields || "_id" in fields)) {
      throw new AppError("CS_ERR_UPDATE_VERSION", 500, "version and _id are managed by cachesync");
    }
  }
  const inc = (update.$inc as Record<string, unknown> | undefined) ?? {};
  const set = (update.$set as Record<string, unknown> | undefined) ?? {};
  return { ...update, $inc: { ...inc, version: 1 }, $set: { ...set, updatedAt: now } };
}

export function versioningPlugin(): Plugin {
  return {
    name: "versioning",
    hooks: [
      {
        collection: USER_COLLECTION,
        op: UPDATE_OPS,
        run: (call, next) => {
          call.args = [
            call.args[0],
            withVersionBump(call.args[1] as Update, new Date()),
            ...call.args.slice(2),
          ];
          return next();
        },
      },
      {
        collection: USER_COLLECTION,
        op: "insertOne",
        run: (call, next) => {
          const now = new Date();
          const doc = call.args[0] as Record<string, unknown>;
          call.args = [
            { createdAt: now, ...doc, updatedAt: now, version: 1 },
            ...call.args.slice(1),
          ];
          return next();
        },
      },
    ],
  };
}
