import { storeProbe } from "../support/store-probe";

/** The store probe on `listings` and `favorites`. */
export const listProbe = (collections: readonly string[] = ["listings", "favorites"]) =>
  storeProbe(collections, "test-list-probe");

/** A find whose filter is owner-scoped on `userId` (what the profile sends). */
export const ownerScopedFind = (collection: string) => (c: string, op: string, args: unknown[]) =>
  c === collection && op === "find" && Object.keys((args[0] as object) ?? {}).join() === "userId";
