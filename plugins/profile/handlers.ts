import type { RouteHandler } from "@hono/zod-openapi";
import { ObjectId } from "bson";
import type { AppEnv } from "../../src/core/app-env";
import { appError, ok } from "../../src/core/errors";
import { isObjectIdHex } from "../../src/core/object-id";
import type { PluginContext } from "../../src/core/plugin";
import { toApiDoc } from "../../src/domain/api-doc";
import { FAVORITES_COLLECTION, LISTINGS_COLLECTION, toPublicUser } from "../../src/domain/user";
import { currentUser } from "../auth";
import type { getMeRoute, getUserRoute, patchMeRoute } from "./routes";

const PROFILE_LIST_LIMIT = 50;

// Listings/favorites are written by other services; accept an owner stored either as an
// ObjectId or as its hex string rather than silently showing an empty profile.
const ownedBy = (userId: string) => ({ userId: { $in: [new ObjectId(userId), userId] } });

async function listingsOf(ctx: PluginContext, userId: string) {
  const docs = await ctx.repo
    .collection(LISTINGS_COLLECTION)
    .find(ownedBy(userId), { sort: { createdAt: -1 }, limit: PROFILE_LIST_LIMIT });
  return docs.map((d) => toApiDoc(d));
}

async function favoritesOf(ctx: PluginContext, userId: string) {
  const favs = await ctx.repo
    .collection(FAVORITES_COLLECTION)
    .find(ownedBy(userId), { sort: { createdAt: -1 }, limit: PROFILE_LIST_LIMIT });
  const ids = favs
    .map((f) => f.listingId)
    .map((id) => (id instanceof ObjectId ? id.toHexString() : isObjectIdHex(id) ? id : null))
    .filter((id): id is string => id !== null);
  // Through the listings cache: one batch read, MongoDB only for the ones not cached. The
  // favorites' order (most recently favorited first) is kept; deleted listings drop out.
  const listings = await ctx.use("cache").listings.getMany(ids);
  return listings.filter((l) => l !== null);
}

export function getMeHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof getMeRoute>, AppEnv> {
  return async function getMe(c) {
    const { id } = currentUser(c);
    // The session check has just read the account through the cache: no second read.
    const account = c.get("account");
    const [user, listings, favorites] = await Promise.all([
      account ?? ctx.use("cacheSync").getUserWithSync(id),
      listingsOf(ctx, id),
      favoritesOf(ctx, id),
    ]);
    if (!user) throw appError("USER_NOT_FOUND");
    return c.json(ok({ user, listings, favorites }), 200);
  };
}

export function patchMeHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof patchMeRoute>, AppEnv> {
  return async function patchMe(c) {
    const { id } = currentUser(c);
    const body = c.req.valid("json");
    // Rebuilt field by field from the parsed schema output: only whitelisted keys can reach $set.
    const $set: Record<string, string> = {};
    if (body.displayName !== undefined) $set.displayName = body.displayName;
    if (body.bio !== undefined) $set.bio = body.bio;
    if (body.avatarUrl !== undefined) $set.avatarUrl = body.avatarUrl;
    const user = await ctx
      .use("cacheSync")
      .updateUserWithSync(id, { $set }, { reason: "profile update" });
    if (!user) throw appError("USER_NOT_FOUND");
    return c.json(ok(user), 200);
  };
}

export function getUserHandler(ctx: PluginContext): RouteHandler<typeof getUserRoute, AppEnv> {
  return async function getUser(c) {
    const { id } = c.req.valid("param");
    const user = await ctx.use("cacheSync").getUserWithSync(id);
    if (!user) throw appError("USER_NOT_FOUND");
    return c.json(ok(toPublicUser(user)), 200);
  };
}
