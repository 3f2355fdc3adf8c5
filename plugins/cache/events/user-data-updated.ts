import type { SanitizedUser } from "../../features/users";

/** The SSE payload (SPEC §5 Events), minus the `type` discriminator the SSE plugin strips. */
export interface UserDataUpdated {
  type: "userDataUpdated";
  userId: string;
  version: number;
  changed: string[];
  user: SanitizedUser;
  reason?: string;
  at: string;
}

/**
 * Any collection's `…Updated` event: `<entity>Id`, `version`, `changed`, the sanitized document
 * under `<entity>` (users: `userId` and `user`, i.e. UserDataUpdated), `reason?`, `at`.
 */
export type CollectionEvent = {
  type: string;
  version: number;
  changed: string[];
  at: string;
  reason?: string;
  [field: string]: unknown;
};

export const eventsTopic = (prefix: string) => `${prefix}events`;
/** Where another collection's events go: `<prefix>events:<entity>`. */
export const collectionEventsTopic = (prefix: string, entity: string) =>
  entity === "user" ? eventsTopic(prefix) : `${eventsTopic(prefix)}:${entity}`;

const BOOKKEEPING = new Set(["version", "updatedAt", "pendingOps", "fencedOps", "createdAt"]);

/**
 * Top-level field names an update document touched (`wallet.balance` → `wallet`), limited to
 * what the sanitized document shows, so an event never names a secret field.
 */
export function changedFields(update: unknown, visible: Record<string, unknown>): string[] {
  const out = new Set<string>();
  if (update && typeof update === "object") {
    for (const fields of Object.values(update as Record<string, unknown>)) {
      if (!fields || typeof fields !== "object") continue;
      for (const path of Object.keys(fields)) {
        const top = path.split(".")[0] as string;
        if (!BOOKKEEPING.has(top) && top in visible) out.add(top);
      }
    }
  }
  return [...out];
}
