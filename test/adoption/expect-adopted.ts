import { expect } from "bun:test";
import { ObjectId } from "bson";
import type { TestStack } from "../support/stack";
import { assertMoneyInvariants } from "../wallet/invariants";
import type { LegacyFixture } from "./legacy-fixture";

/**
 * After a migration: each opening entry once, every adoptable user at the balance the fixture
 * says in minor units, and the money invariants (ledger = balance, nothing pending, cache = DB).
 */
export async function expectAdopted(stack: TestStack, fixture: LegacyFixture): Promise<void> {
  const opening = await stack.stores.db
    .collection("ledger")
    .find({ opId: { $regex: "^opening:" } });
  expect(new Set(opening.map((e) => e.opId)).size).toBe(opening.length);
  for (const u of fixture.clean) {
    const doc = await stack.stores.db.collection("users").findOne({ _id: new ObjectId(u.id) });
    const balance = (doc?.wallet as { balance: number } | undefined)?.balance;
    expect({ id: u.id, balance }).toEqual({ id: u.id, balance: u.balance });
  }
  await assertMoneyInvariants(
    stack,
    fixture.clean.map((u) => u.id),
  );
}
