import type { SanitizedUser } from "../../plugins/features/users";
import type { TestStack } from "./stack";

export const ADMIN_EMAIL = "admin@cachesync.test";
export const ADMIN_PASSWORD = "admin-password-123";
/** Spread into `createTestStack({ env })` to get a bootstrapped admin. */
export const ADMIN_ENV = { ADMIN_EMAIL, ADMIN_PASSWORD } as const;

let seq = 0;
const unique = () =>
  `${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface RegisteredUser {
  token: string;
  user: SanitizedUser;
  email: string;
  password: string;
}

/** Registers a fresh user through the API (unique email/username unless overridden). */
export async function registerUser(
  stack: TestStack,
  overrides: Partial<{ email: string; username: string; password: string }> = {},
): Promise<RegisteredUser> {
  const id = unique();
  const body = {
    email: `u${id}@example.test`,
    username: `u_${id}`.slice(0, 30),
    password: "password-123",
    ...overrides,
  };
  const res = await stack.call("POST", "/api/v1/auth/register", { body });
  const json = (await res.json()) as {
    success: boolean;
    data: { token: string; user: SanitizedUser };
    error?: unknown;
  };
  if (res.status !== 201)
    throw new Error(`registerUser failed: ${res.status} ${JSON.stringify(json)}`);
  return { ...json.data, email: body.email.trim().toLowerCase(), password: body.password };
}

/** Logs in the admin created from ADMIN_ENV (pass `env: { ...ADMIN_ENV }` to createTestStack). */
export async function loginAdmin(
  stack: TestStack,
  email: string = ADMIN_EMAIL,
  password: string = ADMIN_PASSWORD,
): Promise<string> {
  const res = await stack.call("POST", "/api/v1/auth/login", { body: { email, password } });
  const json = (await res.json()) as { data: { token: string } };
  if (res.status !== 200)
    throw new Error(`loginAdmin failed: ${res.status} ${JSON.stringify(json)}`);
  return json.data.token;
}

/** The envelope as a test reads it: `data` is whatever the route under test answers. */
export type ApiBody = {
  success: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: response JSON, asserted on field by field
  data: any;
  message?: string;
  error?: { code: string; message: string; details?: unknown };
};

/** `{ status, body }` of a call, body parsed as JSON. */
export async function callJson<T = ApiBody>(
  stack: TestStack,
  method: string,
  path: string,
  opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
): Promise<{ status: number; body: T }> {
  const res = await stack.call(method, path, opts);
  return { status: res.status, body: (await res.json()) as T };
}
