import type { PluginContext } from "../../../src/core/plugin";
import { USER_COLLECTION } from "../../features/users";

const NUMBER_TYPES = ["int", "long", "double"];

/**
 * One indexed-free query at start-up for the cheapest signs of an adopted database — a user
 * without `version`, a balance that is not an integer number, an email with capitals — and one
 * warning naming the doctor. The ledger sums are the doctor's job (they need a full scan).
 */
export async function warnIfNotAdopted(ctx: PluginContext): Promise<void> {
  const odd = await ctx.stores.db.collection(USER_COLLECTION).findOne(
    {
      $or: [
        { version: { $exists: false } },
        { "wallet.balance": { $not: { $type: NUMBER_TYPES } } },
        { "wallet.balance": { $not: { $mod: [1, 0] } } },
        { email: { $regex: "[A-Z]" } },
      ],
    },
    { projection: { _id: 1 } },
  );
  if (odd)
    ctx.logger.warn(
      { userId: odd._id.toHexString() },
      "documents that do not fit cachesync's invariants (users without version, non-integer balances or mixed-case emails): run `bun run doctor`, then `bun run migrate` (README: Adopting cachesync on an existing database)",
    );
}
