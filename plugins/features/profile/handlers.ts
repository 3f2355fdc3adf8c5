import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv, AuthUser } from "../../../src/core/app-env";
import { appError, ok } from "../../../src/core/errors";
import type { PluginContext } from "../../../src/core/plugin";
import { currentUser, type RequireUserWith } from "../auth";
import type { Listing } from "../listings";
import { type SanitizedUser, toPublicUser } from "../users";
import type { getMeRoute, getUserRoute, patchMeRoute } from "./routes";

/** What GET /users/me shows beside the caller: `cache.listings`' owner lists of the caller. */
export const ME_LISTS = ["byOwner", "favoritedBy"] as const;
export type Me = Record<(typeof ME_LISTS)[number], Listing[]> & { user: SanitizedUser | null };

/**
 * What GET /users/me reads, started by its requireUser beside the session check: the account
 * that check reads, presented (write-behind's overlay), and the caller's lists (ids, then the
 * listings they name through the listings cache). Redis: the account, its overlay and both lists
 * in one round trip, the listings in a second.
 */
export function readMe(
  ctx: PluginContext,
): (caller: AuthUser, account: Promise<SanitizedUser | null>) => Promise<Me> {
  const { users, listings } = ctx.use("cache");
  return async (caller, account) => {
    const [user, lists] = await Promise.all([
      users.present(caller.id, account),
      listings.listsOf(caller.id, ME_LISTS),
    ]);
    return { user, ...lists };
  };
}

export function getMeHandler(
  guard: RequireUserWith<Me>,
): RouteHandler<ReturnType<typeof getMeRoute>, AppEnv> {
  return async function getMe(c) {
    const { user, byOwner, favoritedBy } = await guard.result(c);
    if (!user) throw appError("USER_NOT_FOUND");
    return c.json(ok({ user, listings: byOwner, favorites: favoritedBy }), 200);
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
