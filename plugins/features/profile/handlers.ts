import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../src/core/app-env";
import { appError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { currentUser } from "../auth";
import { toPublicUser } from "../users";
import type { getMeRoute, getUserRoute, patchMeRoute } from "./routes";

/**
 * Both lists' ids (the owner lists: one round trip), then every listing they name through the
 * listings cache (one batch read, MongoDB only for those not cached). `arrange` keeps each list's
 * order and drops a listing that is gone or, in the caller's own list, no longer theirs.
 */
async function listsOf(ctx: PluginContext, userId: string) {
  const lists = ctx.use("ownerLists");
  const own = lists.list("listings");
  const favs = lists.list("favorites");
  const [ownIds, favIds] = await Promise.all([own.ids(userId), favs.ids(userId)]);
  const wanted = [...new Set([...ownIds, ...favIds])];
  const found = wanted.length ? await ctx.use("cache").listings.getMany(wanted) : [];
  const byId = new Map(wanted.map((id, i) => [id, found[i] ?? null]));
  const docs = (ids: string[]) => ids.map((id) => byId.get(id) ?? null);
  return {
    listings: own.arrange(userId, docs(ownIds)),
    favorites: favs.arrange(userId, docs(favIds)),
  };
}

export function getMeHandler(
  ctx: PluginContext,
): RouteHandler<ReturnType<typeof getMeRoute>, AppEnv> {
  return async function getMe(c) {
    const { id } = currentUser(c);
    // The session check has just read the account through the cache: no second read.
    const account = c.get("account");
    const [user, { listings, favorites }] = await Promise.all([
      account ?? ctx.use("cacheSync").getUserWithSync(id),
      listsOf(ctx, id),
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
