import { createRoute } from "@hono/zod-openapi";
import type { AuthService } from "../../src/domain/auth";
import { errorResponse } from "../../src/domain/schemas";
import { userOnly } from "../auth/guards";
import { MeResult, PatchMeBody, PublicUserResult, UserIdParam, UserResult } from "./schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });

export const getMeRoute = (auth: AuthService) =>
  createRoute({
    method: "get",
    path: "/users/me",
    tags: ["Profile"],
    summary: "The caller (through the cache), their listings and favorited listings",
    ...userOnly(auth),
    responses: {
      200: { content: json(MeResult), description: "The profile" },
      401: errorResponse("No or invalid token"),
      404: errorResponse("The account no longer exists"),
    },
  });

export const patchMeRoute = (auth: AuthService) =>
  createRoute({
    method: "patch",
    path: "/users/me",
    tags: ["Profile"],
    summary: "Update displayName, bio or avatarUrl (nothing else)",
    ...userOnly(auth),
    request: { body: { content: json(PatchMeBody), required: true } },
    responses: {
      200: { content: json(UserResult), description: "The updated user" },
      400: errorResponse("Unknown or invalid field"),
      401: errorResponse("No or invalid token"),
      404: errorResponse("The account no longer exists"),
    },
  });

export const getUserRoute = createRoute({
  method: "get",
  path: "/users/{id}",
  tags: ["Profile"],
  summary: "Public view of a user (no email, wallet or secrets)",
  request: { params: UserIdParam },
  responses: {
    200: { content: json(PublicUserResult), description: "The public user" },
    400: errorResponse("Malformed id"),
    404: errorResponse("Unknown user"),
  },
});
