/**
 * Deposit approvals through the app of the checkout this file sits in (the bench copies it into
 * a baseline checkout too, so both sides run the same driver): one admin with a float, deposits
 * inserted pending straight into MongoDB, then `PUT /deposits/:id/approve` (in-process app.fetch:
 * auth, validation, the protocol) by CONCURRENCY workers until COUNT approvals are done. Also
 * a bare findOneAndUpdate($inc) on the same MongoDB, same concurrency, as the same-run unit.
 * Prints one JSON line. Needs MONGO_URL and REDIS_URL.
 */
import { ObjectId } from "bson";
import { MongoClient } from "mongodb";
import { createTestStack } from "../../test/support/stack";
import { ADMIN_ENV, callJson, loginAdmin, registerUser } from "../../test/support/users";

const count = Number(process.env.COUNT ?? 600);
const concurrency = Number(process.env.CONCURRENCY ?? 1);
const stack = await createTestStack({
  env: { ...ADMIN_ENV, LOG_LEVEL: "silent", MONGO_TIMEOUT_MS: 30_000 },
});
try {
  const token = await loginAdmin(stack);
  const adminId = (await callJson(stack, "GET", "/api/v1/users/me", { token })).body.data.user
    .id as string;
  await stack.ctx
    .use("balance")
    .apply(adminId, 1_000_000_000, "bench float", { opId: `bench-float:${adminId}` });
  const users = await Promise.all(Array.from({ length: 16 }, () => registerUser(stack)));
  const client = new MongoClient(process.env.MONGO_URL as string);
  await client.connect();
  const db = client.db(stack.dbName);
  const now = new Date();
  const warm = 20 * concurrency;
  const docs = Array.from({ length: count + warm }, (_, i) => ({
    _id: new ObjectId(),
    userId: new ObjectId(users[i % users.length]!.user.id),
    amount: 100,
    senderName: "bench",
    receiptImage: null,
    status: "pending",
    createdAt: now,
    updatedAt: now,
  }));
  for (let i = 0; i < docs.length; i += 500)
    await db.collection("deposits").insertMany(docs.slice(i, i + 500));
  const ids = docs.map((d) => d._id.toHexString());

  let next = 0;
  let errors = 0;
  const run = async (upTo: number) => {
    const worker = async () => {
      for (let i = next++; i < upTo; i = next++) {
        const r = await stack.call("PUT", `/api/v1/deposits/${ids[i]}/approve`, { token });
        if (r.status !== 200) errors++;
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await run(warm);
  next = warm;
  const t0 = performance.now();
  await run(warm + count);
  const approveS = (performance.now() - t0) / 1000;

  const coll = db.collection("users");
  const target = new ObjectId(users[0]!.user.id);
  let n = 0;
  const bare = async () => {
    const worker = async () => {
      while (n++ < count * 4)
        await coll.findOneAndUpdate(
          { _id: target },
          { $inc: { "wallet.balance": 0 } },
          { returnDocument: "after" },
        );
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  const t1 = performance.now();
  await bare();
  const bareS = (performance.now() - t1) / 1000;
  await client.close();
  console.log(
    JSON.stringify({
      approvalsPerSec: count / approveS,
      bareIncPerSec: (count * 4) / bareS,
      errors,
    }),
  );
} finally {
  await stack.close();
}
process.exit(0);
