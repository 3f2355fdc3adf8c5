import type { IndexSpec } from "../../../src/core/ports/document-store";
import { USER_COLLECTION } from "./user";

/** Registration and the admin bootstrap rely on these to refuse duplicates atomically. */
export const USER_INDEXES: readonly IndexSpec[] = [
  { collection: USER_COLLECTION, key: { email: 1 }, unique: true, name: "email_unique" },
  { collection: USER_COLLECTION, key: { username: 1 }, unique: true, name: "username_unique" },
];
