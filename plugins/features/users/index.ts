/**
 * The users module: the collection, its document types and the helpers every plugin that reads or
 * writes accounts shares (auth, wallet, adoption). Other plugins import from here, not from its files.
 */
export { USER_INDEXES } from "./indexes";
export {
  type NewUserDoc,
  newUserDoc,
  rawUsers,
  type SanitizedUsers,
  sanitizedUsers,
} from "./repository";
export {
  type PublicUser,
  type Role,
  type SanitizedUser,
  toPublicUser,
  USER_COLLECTION,
  type UserDoc,
  type Wallet,
} from "./user";
