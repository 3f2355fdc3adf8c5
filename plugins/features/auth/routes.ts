import { createRoute } from "@hono/zod-openapi";
import {
  anyone,
  errorResponses,
  JSON_BODY_ERRORS,
  jsonBody,
  jsonResponse,
  STORE_ERRORS,
} from "../../../src/core/api-route";
import type { AuthService } from "./auth-service";
import { USER_ERRORS, userOnly } from "./guards";
import { AuthResult, LoginBody, LogoutResult, RegisterBody, SseTicketResult } from "./schemas";

export const registerRoute = createRoute({
  ...anyone,
  method: "post",
  path: "/auth/register",
  tags: ["Auth"],
  operationId: "register",
  summary: "Create an account",
  description:
    "Creates a `user` account and signs it in: the answer carries a bearer token (JWT) and the sanitized user. Emails are trimmed and lower-cased; email and username are unique.",
  request: {
    body: jsonBody(RegisterBody, {
      email: "ada@example.com",
      username: "ada",
      password: "correct-horse-battery",
    }),
  },
  responses: {
    201: jsonResponse(AuthResult, "Registered; a token and the user"),
    ...errorResponses(
      ...JSON_BODY_ERRORS,
      "EMAIL_TAKEN",
      "USERNAME_TAKEN",
      "RATE_LIMITED",
      ...STORE_ERRORS,
    ),
  },
});

export const loginRoute = createRoute({
  ...anyone,
  method: "post",
  path: "/auth/login",
  tags: ["Auth"],
  operationId: "login",
  summary: "Exchange email and password for a token",
  description:
    "Answers a bearer token (JWT) and the user. Attempts are limited per email and per client address; past the limit the answer is 429 until the window ends.",
  request: {
    body: jsonBody(LoginBody, { email: "ada@example.com", password: "correct-horse-battery" }),
  },
  responses: {
    200: jsonResponse(AuthResult, "A token and the user"),
    ...errorResponses(...JSON_BODY_ERRORS, "INVALID_CREDENTIALS", "RATE_LIMITED", ...STORE_ERRORS),
  },
});

export const logoutRoute = (auth: AuthService) =>
  createRoute({
    ...userOnly(auth),
    method: "post",
    path: "/auth/logout",
    tags: ["Auth"],
    operationId: "logout",
    summary: "Log out",
    description:
      "Ends the session: revokes every token of the account (the token version in MongoDB moves on, checked on every request) and closes the event streams they opened. Needs MongoDB (503 while it is down).",
    responses: {
      200: jsonResponse(LogoutResult, "Logged out"),
      ...errorResponses(...USER_ERRORS, ...STORE_ERRORS),
    },
  });

export const sseTicketRoute = (auth: AuthService) =>
  createRoute({
    ...userOnly(auth),
    method: "get",
    path: "/auth/sse-ticket",
    tags: ["Auth"],
    operationId: "getSseTicket",
    summary: "A short-lived ticket for the event stream",
    description:
      "A 60 s, single-use ticket for `GET /api/v1/events?ticket=`: browsers' EventSource cannot send an Authorization header, and a long-lived JWT must not travel in a URL. The stream it opens ends when the token it was minted from expires or is revoked.",
    responses: {
      200: jsonResponse(SseTicketResult, "The ticket"),
      ...errorResponses(...USER_ERRORS),
    },
  });
