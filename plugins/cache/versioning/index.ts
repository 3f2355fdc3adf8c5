import { setupError } from "../../../src/core/errors";
import type { HookSpec } from "../../../src/core/hooks";
import type { Plugin } from "../../../src/core/plugin";
import type { Update } from "../../../src/core/ports/document-store";

const UPDATE_OPS = ["updateOne", "updateMany", "findOneAndUpdate"] as const;

/**
 * Every write of a cached collection bumps its version field in the same MongoDB update, so cache
 * writes can be ordered by it (SPEC §2 "no stale overwrite"). Callers never set it themselves.
 */
export function withVersionBump(update: Update, now: Date, versionField = "version"): Update {
  const keys = Object.keys(update);
  if (keys.length === 0 || keys.some((k) => !k.startsWith("$"))) {
    throw setupError("CS_ERR_UPDATE_SHAPE");
  }
  for (const op of keys) {
    const fields = update[op];
    if (fields && typeof fields === "object" && (versionField in fields || "_id" in fields)) {
      throw setupError("CS_ERR_UPDATE_VERSION", `${versionField} and _id are managed by cachesync`);
    }
  }
  const inc = (update.$inc as Record<string, unknown> | undefined) ?? {};
  const set = (update.$set as Record<string, unknown> | undefined) ?? {};
  return { ...update, $inc: { ...inc, [versionField]: 1 }, $set: { ...set, updatedAt: now } };
}

/** `beforeWrite`: version bumps for every declared collection (its `versionField`). */
export function versioningPlugin(): Plugin {
  return {
    name: "versioning",
    dependencies: ["cache-sync"],
    hooks: (ctx) =>
      ctx
        .use("cache")
        .declarations()
        .flatMap(({ name, versionField }): HookSpec[] => [
          {
            phase: "beforeWrite",
            collection: name,
            op: UPDATE_OPS,
            run: (call) => {
              call.args = [
                call.args[0],
                withVersionBump(call.args[1] as Update, new Date(), versionField),
                ...call.args.slice(2),
              ];
            },
          },
          {
            phase: "beforeWrite",
            collection: name,
            op: "insertOne",
            run: (call) => {
              const now = new Date();
              const doc = call.args[0] as Record<string, unknown>;
              call.args = [
                { createdAt: now, ...doc, updatedAt: now, [versionField]: 1 },
                ...call.args.slice(1),
              ];
            },
          },
        ]),
  };
}
