import type { HookSpec, RepoCall } from "../../../../src/core/hooks";
import type {
  DocumentStore,
  Filter,
  FindOneAndUpdateOptions,
} from "../../../../src/core/ports/document-store";
import type { CacheCore } from "../core";
import { fieldsOf } from "./declaration";
import { idHex, idsInFilter, idsInUpdate, touchedFields } from "./owner-ids";
import type { OwnerList } from "./owner-list";

const SINGLE = new Set(["updateOne", "deleteOne", "findOneAndUpdate"]);
const UPDATES = new Set(["updateOne", "updateMany", "findOneAndUpdate"]);
const WRITES = ["insertOne", ...UPDATES, "deleteOne", "deleteMany"];

/** The lists an update can change: those one of whose fields it touches (all for a replacement). */
function affectedBy(lists: readonly OwnerList[], update: unknown): OwnerList[] {
  const touched = touchedFields(update);
  if (touched === null) return [...lists];
  return lists.filter((l) => [...fieldsOf(l.declaration)].some((f) => touched.has(f)));
}

/**
 * The write hooks of every list on one member collection. Owners come from the documents before
 * the write (read first, in the order a single-document write picks them: a deleted member is
 * gone afterwards), the filter and update (an upsert), and the document after; a member moved to
 * another owner changes both lists. The lists change only once MongoDB answered, also when it
 * failed (a timed-out write may still have been applied). An update touching none of a list's
 * fields (owner, sort keys, the picked id) leaves it as it is: the list holds ids, not documents.
 */
export function memberWriteHooks(
  collection: string,
  lists: readonly OwnerList[],
  core: CacheCore,
  db: DocumentStore,
): HookSpec {
  const ownerFields = [...new Set(lists.map((l) => l.declaration.owner))];
  return {
    // An onion around the store write rather than afterWrite: the owner a member had before an
    // update is not in the change, and a failed write (maybe applied) must change the lists too.
    phase: "write",
    collection,
    op: WRITES,
    run: async (call, next) => {
      const update = UPDATES.has(call.op) ? call.args[1] : undefined;
      const targets =
        call.op === "insertOne" || call.op.startsWith("delete")
          ? [...lists]
          : affectedBy(lists, update);
      if (targets.length === 0) return next();
      const owners = new Map<OwnerList, Set<string>>(targets.map((l) => [l, new Set<string>()]));
      const add = (doc: unknown) => {
        if (!doc || typeof doc !== "object") return;
        for (const l of targets) {
          const hex = idHex((doc as Record<string, unknown>)[l.declaration.owner]);
          if (hex) owners.get(l)?.add(hex);
        }
      };
      if (call.op === "insertOne") add(call.args[0]);
      else {
        const filter = (call.args[0] ?? {}) as Filter;
        const projection = Object.fromEntries(ownerFields.map((f) => [f, 1 as const]));
        const single = SINGLE.has(call.op);
        const sort = writeSort(call);
        const before = await core.observeMongo(
          db.collection(collection).find(filter, {
            projection,
            ...(single ? { limit: 1 } : {}),
            ...(sort ? { sort } : {}),
          }),
        );
        for (const doc of before) add(doc);
        for (const l of targets) {
          for (const hex of idsInFilter(filter, l.declaration.owner)) owners.get(l)?.add(hex);
          for (const hex of idsInUpdate(update, l.declaration.owner)) owners.get(l)?.add(hex);
        }
      }
      try {
        const result = await core.observeMongo(next());
        if (call.op === "insertOne" || call.op === "findOneAndUpdate") add(result);
        return result;
      } finally {
        await Promise.all(targets.map((l) => l.changed(owners.get(l) ?? [])));
      }
    },
  };
}

/** The sort a single-document write picks its document by (findOneAndUpdate's option). */
const writeSort = (call: RepoCall) =>
  call.op === "findOneAndUpdate"
    ? (call.args[2] as FindOneAndUpdateOptions | undefined)?.sort
    : undefined;
