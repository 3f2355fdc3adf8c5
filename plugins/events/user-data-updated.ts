import type { SanitizedUser } from "../../src/domain/user";

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

export const eventsTopic = (prefix: string) => `${prefix}events`;

const BOOKKEEPING = new Set(["version", "updatedAt", "pendingOps", "fencedOps", "createdAt"]);

/**
 * Top-level field names an update document touched (`wallet.balance` → `wallet`), limited to
 * what the sanitized user shows, so an event never names a secret field.
 */
export function changedFields(update: unknown, visible: SanitizedUser): string[] {
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
