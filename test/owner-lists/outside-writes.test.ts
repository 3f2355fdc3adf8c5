/**
 * Member writes made straight to MongoDB (the official driver, no hooks) reach the owner lists
 * through the change stream: the owner's counter is bumped and the cached ids are emptied.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectId } from "bson";
import {
  type StreamServers,
  startStreamServers,
  streamStack,
  until,
} from "../change-streams/helpers";
import type { TestStack } from "../support/stack";
import { callJson, type RegisteredUser, registerUser } from "../support/users";

const VISIBLE_MS = 5000;

let servers: StreamServers;
let stack: TestStack;
beforeAll(async () => {
  servers = await startStreamServers();
  stack = await streamStack(servers);
});
afterAll(async () => {
  await stack.close();
  await servers.close();
});

const outside = (name: string) => servers.client.db(stack.dbName).collection(name);
const me = async (u: RegisteredUser) => {
  const r = await callJson(stack, "GET", "/api/v1/users/me", { token: u.token });
  expect(r.status).toBe(200);
  const titles = (xs: { title: string }[]) => xs.map((x) => x.title);
  return { listings: titles(r.body.data.listings), favorites: titles(r.body.data.favorites) };
};

describe("owner lists and writes that bypass the service", () => {
  test("an outside insert, sort change and owner change show within the bound", async () => {
    const a = await registerUser(stack);
    const b = await registerUser(stack);
    expect((await me(a)).listings).toEqual([]); // cached: an empty list
    const { insertedId } = await outside("listings").insertOne({
      userId: new ObjectId(a.user.id),
      title: "by a script",
      createdAt: new Date(1000),
    });
    await until(async () => (await me(a)).listings.join() === "by a script", VISIBLE_MS);
    await outside("listings").insertOne({
      userId: new ObjectId(a.user.id),
      title: "older",
      createdAt: new Date(500),
    });
    await until(async () => (await me(a)).listings.join() === "by a script,older", VISIBLE_MS);
    await outside("listings").updateOne({ _id: insertedId }, { $set: { createdAt: new Date(1) } });
    await until(async () => (await me(a)).listings.join() === "older,by a script", VISIBLE_MS);
    expect((await me(b)).listings).toEqual([]);
    await outside("listings").updateOne(
      { _id: insertedId },
      { $set: { userId: new ObjectId(b.user.id) } },
    );
    // The new owner through the stream; the former one by the read-time owner check.
    await until(async () => (await me(b)).listings.join() === "by a script", VISIBLE_MS);
    expect((await me(a)).listings).toEqual(["older"]);
  });

  test("an outside favorite shows within the bound", async () => {
    const a = await registerUser(stack);
    const listing = await outside("listings").insertOne({
      userId: new ObjectId(),
      title: "theirs",
      createdAt: new Date(),
    });
    expect((await me(a)).favorites).toEqual([]);
    await outside("favorites").insertOne({
      userId: new ObjectId(a.user.id),
      listingId: listing.insertedId,
      createdAt: new Date(),
    });
    await until(async () => (await me(a)).favorites.join() === "theirs", VISIBLE_MS);
  });
});
