import { createRoute } from "@hono/zod-openapi";
import {
  anyone,
  errorResponses,
  JSON_BODY_ERRORS,
  jsonBody,
  jsonResponse,
  STORE_ERRORS,
} from "../../../src/core/api-route";
import type { AuthService, RequireUserWith } from "../auth";
import { USER_ERRORS, userOnly, userOnlyWith } from "../auth";
import { MeResult, PatchMeBody, PublicUserResult, UserIdParam, UserResult } from "./schemas";

export const getMeRoute = (guard: RequireUserWith<unknown>) =>
  createRoute({
    ...userOnlyWith(guard),
    method: "get",
    path: "/users/me",
    tags: ["Profile"],
    operationId: "getMe",
    summary: "The caller's profile",
    description:
      "The caller (read through the cache), their listings and the listings they favorited, newest first (at most 50 each).",
    responses: {
      200: jsonResponse(MeResult, "The profile"),
      ...errorResponses(...USER_ERRORS, "USER_NOT_FOUND", ...STORE_ERRORS),
    },
  });

export const patchMeRoute = (auth: AuthService) =>
  createRoute({
    ...userOnly(auth),
    method: "patch",
    path: "/users/me",
    tags: ["Profile"],
    operationId: "updateMe",
    summary: "Update the caller's profile",
    description:
      "Sets `displayName`, `bio` or `avatarUrl`; any other field (wallet, role, email, version, `$` operators) is refused with 400. The cache is written through and an event is published.",
    request: { body: jsonBody(PatchMeBody, { displayName: "Ada L.", bio: "Counting engines" }) },
    responses: {
      200: jsonResponse(UserResult, "The updated user"),
      ...errorResponses(...JSON_BODY_ERRORS, ...USER_ERRORS, "USER_NOT_FOUND", ...STORE_ERRORS),
    },
  });

export const getUserRoute = createRoute({
  ...anyone,
  method: "get",
  path: "/users/{id}",
  tags: ["Profile"],
  operationId: "getUser",
  summary: "A user's public profile",
  description: "The public view of a user: no email, wallet or secrets. Read through the cache.",
  request: { params: UserIdParam },
  responses: {
    200: jsonResponse(PublicUserResult, "The public user"),
    ...errorResponses("VALIDATION_ERROR", "USER_NOT_FOUND", ...STORE_ERRORS),
  },
});
