import type { ChangeEvent } from "../../../../src/core/ports/document-store";
import { fieldsOf } from "./declaration";
import { idHex } from "./owner-ids";
import type { OwnerList } from "./owner-list";

/**
 * A member change made straight to MongoDB (a change-stream event): the owner the document names
 * now has its list changed like after a write through the service. A delete, or the former owner
 * of a moved member, is not in the event (no pre-image): the reader's `arrange` drops a member
 * that is gone or no longer the owner's, and a picked id stays until the entry's TTL.
 */
export async function applyOutsideChange(
  lists: readonly OwnerList[],
  e: ChangeEvent,
): Promise<"skipped" | "changed"> {
  if (e.op === "delete" || !e.fullDocument) return "skipped";
  const fields =
    e.op === "update"
      ? new Set(
          [...(e.updatedFields ?? []), ...(e.removedFields ?? [])].map((f) => f.split(".")[0]),
        )
      : null;
  const doc = e.fullDocument;
  let changed = false;
  for (const list of lists) {
    if (fields && ![...fieldsOf(list.declaration)].some((f) => fields.has(f))) continue;
    const owner = idHex(doc[list.declaration.owner]);
    if (!owner) continue;
    await list.changed([owner]);
    changed = true;
  }
  return changed ? "changed" : "skipped";
}
