import { createRoute } from "@hono/zod-openapi";
import type { AuthService } from "../../src/domain/auth";
import { errorResponse } from "../../src/domain/schemas";
import { userOnly } from "./guards";
import { AuthResult, LoginBody, LogoutResult, RegisterBody, SseTicketResult } from "./schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });

export const registerRoute = createRoute({
  method: "post",
  path: "/auth/register",
  tags: ["Auth"],
  summary: "Create an account",
  request: { body: { content: json(RegisterBody), required: true } },
  responses: {
    201: { content: json(AuthResult), description: "Registered; a token and the user" },
    400: errorResponse("Invalid body"),
    409: errorResponse("Email or username taken"),
  },
});

export const loginRoute = createRoute({
  method: "post",
  path: "/auth/login",
  tags: ["Auth"],
  summary: "Exchange email and password for a token",
  request: { body: { content: json(LoginBody), required: true } },
  responses: {
    200: { content: json(AuthResult), description: "A token and the user" },
    400: errorResponse("Invalid body"),
    401: errorResponse("Invalid credentials"),
    429: errorResponse("Too many attempts"),
  },
});

export const logoutRoute = (auth: AuthService) =>
  createRoute({
    method: "post",
    path: "/auth/logout",
    tags: ["Auth"],
    summary: "Log out (drops the user's cache entries)",
    ...userOnly(auth),
    responses: {
      200: { content: json(LogoutResult), description: "Logged out" },
      401: errorResponse("No or invalid token"),
    },
  });

export const sseTicketRoute = (auth: AuthService) =>
  createRoute({
    method: "get",
    path: "/auth/sse-ticket",
    tags: ["Auth"],
    summary: "A 60 s ticket for GET /events?ticket= (EventSource cannot send headers)",
    ...userOnly(auth),
    responses: {
      200: { content: json(SseTicketResult), description: "The ticket" },
      401: errorResponse("No or invalid token"),
    },
  });
